/**
 * The load generator's own ceiling: against one static endpoint (a tiny `Deno.serve` hello in a child process on
 * 127.0.0.1) measure the highest request rate of `wrk` and of this project's generator (the same `runScenario`
 * engine `deno task load` uses, closed model, no think time, keep-alive connections), in the same run,
 * alternating rounds so both see the same machine. Prints both rates and the ratio (target: at least 60 %). The
 * headline ratio is the median of the per-round ratios: on a shared machine the load of other processes drifts
 * between rounds, and a paired ratio cancels most of that drift.
 *
 *   deno run -A bench/loadgen_vs_wrk.ts [--seconds 3] [--rounds 7] [--connections 64] [--workers 1]
 *
 * With `--workers N` the generator runs N Web Workers, each with its own share of the connections, and the
 * rates are added up.
 *
 * @module
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { defineScenario, type RunResult, runScenario } from "../src/loadtest/mod.ts";

const SERVER = `Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: ({ port }) => console.log(port) },
  () => new Response("hello"));`;

/** Starts the hello server in a child process; resolves its URL. */
async function startServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", SERVER],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/\d+\n/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the hello server exited before listening");
    text += value;
  }
  reader.releaseLock();
  void child.stdout.cancel().catch(() => {});
  return {
    url: `http://127.0.0.1:${text.trim()}`,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** A measured run: requests per second and CPU seconds spent per request by the load generator itself. */
interface Measured {
  rps: number;
  cpuUsPerRequest: number;
}

/** One wrk run (timed by bash for its CPU use). */
async function runWrk(url: string, seconds: number, connections: number): Promise<Measured> {
  const out = await new Deno.Command("bash", {
    args: ["-c", `TIMEFORMAT="cpu %U %S"; time wrk -t2 -c${connections} -d${seconds}s ${url}/`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const err = new TextDecoder().decode(out.stderr);
  const m = /Requests\/sec:\s+([0-9.]+)/.exec(text);
  const total = /(\d+) requests in/.exec(text);
  const cpu = /cpu ([0-9.]+) ([0-9.]+)/.exec(err);
  if (!out.success || !m || !total || !cpu) throw new Error(`wrk failed: ${err}${text}`);
  return { rps: Number(m[1]), cpuUsPerRequest: ((Number(cpu[1]) + Number(cpu[2])) * 1e6) / Number(total[1]) };
}

/** The generator's scenario for a static endpoint: closed model, no think time. */
function ceilingScenario(seconds: number, vus: number) {
  return defineScenario({
    name: "generator_ceiling",
    description: "static endpoint, closed model, no think time",
    load: { model: "closed", stages: [{ durationS: seconds, vus }] },
    mix: { http: { method: "GET", path: "/" } },
    gracefulStopS: 2,
  });
}

/** One generator run in this thread; its completed requests/second and CPU per request (this process). */
async function runGenerator(url: string, seconds: number, connections: number): Promise<Measured> {
  const before = process.cpuUsage();
  const result: RunResult = await runScenario(ceilingScenario(seconds, connections), { targetUrl: url });
  const used = process.cpuUsage(before);
  return { rps: result.totals.rps, cpuUsPerRequest: (used.user + used.system) / Math.max(1, result.totals.requests) };
}

/** One generator run split over `workers` Web Workers (src/loadtest/worker.ts); the summed requests/second. */
async function runGeneratorWorkers(
  url: string,
  seconds: number,
  connections: number,
  workers: number,
): Promise<Measured> {
  const before = process.cpuUsage();
  const per = Math.max(1, Math.round(connections / workers));
  const results = await Promise.all(
    Array.from({ length: workers }, () =>
      new Promise<RunResult["totals"]>((resolve, reject) => {
        const worker = new Worker(new URL("../src/loadtest/worker.ts", import.meta.url), { type: "module" });
        worker.onmessage = (e: MessageEvent<{ result?: RunResult; error?: string }>) => {
          worker.terminate();
          if (e.data.error) reject(new Error(e.data.error));
          else resolve(e.data.result!.totals);
        };
        worker.onerror = (e) => {
          e.preventDefault();
          worker.terminate();
          reject(new Error(e.message));
        };
        worker.postMessage({ scenario: ceilingScenario(seconds, per), targetUrl: url });
      })),
  );
  const used = process.cpuUsage(before);
  const requests = results.reduce((a, b) => a + b.requests, 0);
  return {
    rps: results.reduce((a, b) => a + b.rps, 0),
    cpuUsPerRequest: (used.user + used.system) / Math.max(1, requests),
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      seconds: { type: "string", default: "3" },
      rounds: { type: "string", default: "7" },
      connections: { type: "string", default: "64" },
      workers: { type: "string", default: "1" },
    },
  });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);
  const workers = Number(values.workers);
  const server = await startServer();
  const wrk: Measured[] = [];
  const ours: Measured[] = [];
  try {
    // Warm both paths (JIT, connection setup) before measuring.
    await runWrk(server.url, 1, connections);
    await runGenerator(server.url, 1, connections);
    for (let round = 1; round <= rounds; round++) {
      const w = await runWrk(server.url, seconds, connections);
      const o = workers > 1
        ? await runGeneratorWorkers(server.url, seconds, connections, workers)
        : await runGenerator(server.url, seconds, connections);
      wrk.push(w);
      ours.push(o);
      console.log(
        `round ${round}: wrk ${w.rps.toFixed(0)} req/s (${w.cpuUsPerRequest.toFixed(1)} µs CPU/req)   ` +
          `amas loadgen ${o.rps.toFixed(0)} req/s (${o.cpuUsPerRequest.toFixed(1)} µs CPU/req)   ` +
          `ratio ${(o.rps / w.rps * 100).toFixed(1)} %`,
      );
    }
  } finally {
    await server.stop();
  }
  const wRps = median(wrk.map((m) => m.rps));
  const oRps = median(ours.map((m) => m.rps));
  const paired = median(ours.map((o, i) => o.rps / wrk[i].rps));
  const wCpu = median(wrk.map((m) => m.cpuUsPerRequest));
  const oCpu = median(ours.map((m) => m.cpuUsPerRequest));
  console.log(
    `\nstatic hello endpoint, ${connections} keep-alive connections, ${seconds} s per run, median of ${rounds} ` +
      `alternating rounds (generator workers: ${workers})`,
  );
  console.log(
    `  wrk (C, 2 threads)    ${wRps.toFixed(0).padStart(8)} req/s   ${wCpu.toFixed(1).padStart(6)} µs CPU per request`,
  );
  console.log(
    `  amas load generator   ${oRps.toFixed(0).padStart(8)} req/s   ${oCpu.toFixed(1).padStart(6)} µs CPU per request`,
  );
  console.log(`  ratio of medians      ${(oRps / wRps * 100).toFixed(1).padStart(8)} %`);
  console.log(`  median paired ratio   ${(paired * 100).toFixed(1).padStart(8)} %   (target ≥ 60 %)`);
  console.log(
    `  per CPU-second        ${
      (wCpu / oCpu * 100).toFixed(1).padStart(8)
    } %   (requests one CPU-second of the generator ` +
      `sends, relative to wrk: independent of how busy the machine is)`,
  );
}

if (import.meta.main) await main();
