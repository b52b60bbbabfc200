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

/** One wrk run; its requests/second. */
async function runWrk(url: string, seconds: number, connections: number): Promise<number> {
  const out = await new Deno.Command("wrk", {
    args: ["-t2", `-c${connections}`, `-d${seconds}s`, `${url}/`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const m = /Requests\/sec:\s+([0-9.]+)/.exec(text);
  if (!out.success || !m) throw new Error(`wrk failed: ${new TextDecoder().decode(out.stderr)}${text}`);
  return Number(m[1]);
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

/** One generator run in this thread; its completed requests/second. */
async function runGenerator(url: string, seconds: number, connections: number): Promise<RunResult> {
  return await runScenario(ceilingScenario(seconds, connections), { targetUrl: url });
}

/** One generator run split over `workers` Web Workers (src/loadtest/worker.ts); the summed requests/second. */
async function runGeneratorWorkers(url: string, seconds: number, connections: number, workers: number) {
  const per = Math.max(1, Math.round(connections / workers));
  const results = await Promise.all(Array.from({ length: workers }, () =>
    new Promise<number>((resolve, reject) => {
      const worker = new Worker(new URL("../src/loadtest/worker.ts", import.meta.url), { type: "module" });
      worker.onmessage = (e: MessageEvent<{ result?: RunResult; error?: string }>) => {
        worker.terminate();
        if (e.data.error) reject(new Error(e.data.error));
        else resolve(e.data.result!.totals.rps);
      };
      worker.onerror = (e) => {
        e.preventDefault();
        worker.terminate();
        reject(new Error(e.message));
      };
      worker.postMessage({ scenario: ceilingScenario(seconds, per), targetUrl: url });
    })));
  return results.reduce((a, b) => a + b, 0);
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
  const wrk: number[] = [];
  const ours: number[] = [];
  try {
    // Warm both paths (JIT, connection setup) before measuring.
    await runWrk(server.url, 1, connections);
    await runGenerator(server.url, 1, connections);
    for (let round = 1; round <= rounds; round++) {
      wrk.push(await runWrk(server.url, seconds, connections));
      const rps = workers > 1
        ? await runGeneratorWorkers(server.url, seconds, connections, workers)
        : (await runGenerator(server.url, seconds, connections)).totals.rps;
      ours.push(rps);
      console.log(
        `round ${round}: wrk ${wrk[round - 1].toFixed(0)} req/s   amas loadgen ${rps.toFixed(0)} req/s   ` +
          `ratio ${(rps / wrk[round - 1] * 100).toFixed(1)} %`,
      );
    }
  } finally {
    await server.stop();
  }
  const w = median(wrk);
  const o = median(ours);
  const paired = median(ours.map((rps, i) => rps / wrk[i]));
  console.log(
    `\nstatic hello endpoint, ${connections} keep-alive connections, ${seconds} s per run, median of ${rounds} ` +
      `alternating rounds (generator workers: ${workers})`,
  );
  console.log(`  wrk (C, 2 threads)    ${w.toFixed(0).padStart(8)} req/s`);
  console.log(`  amas load generator   ${o.toFixed(0).padStart(8)} req/s`);
  console.log(`  ratio of medians      ${(o / w * 100).toFixed(1).padStart(8)} %`);
  console.log(`  median paired ratio   ${(paired * 100).toFixed(1).padStart(8)} %   (target ≥ 60 %)`);
}

if (import.meta.main) await main();
