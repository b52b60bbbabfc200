/**
 * The gateway's added latency and throughput on the cache-miss path, side by side in one run with:
 * (a) the upstream called directly, (b) a bare Hono hello-world, (c) the Portkey AI gateway in front of the same
 * upstream. The upstream is an OpenAI-compatible server with a fixed latency (bench/support/fixed_upstream.ts).
 *
 * Latency: an open-model generator in this process sends unique prompts at a fixed rate (default 200 requests/s)
 * and measures each request from its intended send time (no coordinated omission). Added latency is the
 * gateway's percentile minus the direct upstream's percentile in the same run.
 * A bare Deno pass-through proxy (bench/support/bare_proxy.ts: `Deno.serve` + pooled `fetch`, nothing else) is the
 * floor any Deno gateway starts from on this machine: its added latency is the two extra loopback hops and the
 * extra process on the same cores.
 * Throughput: `wrk` (Debian package) with unique bodies per request, a fixed number of connections, for a fixed
 * time, against each target; non-2xx answers are reported and make the figure invalid.
 * For AMAS rows, the gateway's own time per request (`gateway;dur` of `Server-Timing`) is summarised below the table.
 *
 *   deno run -A bench/gateway_overhead.ts [--rate 200] [--seconds 15] [--sat-seconds 10] [--connections 64]
 *     [--latency-ms 10] [--rounds 2] [--slot-seconds 1] [--quick] [--compare-root DIR] [--gateway-env K=V,K=V] [--compare-env K=V]
 *
 * --quick            latency only, without Portkey and without the saturation runs (for iterating)
 * --compare-root DIR adds a second AMAS row run from another checkout (A/B of two versions in the same run)
 * --gateway-env      extra environment for the AMAS gateway(s), e.g. AMAS_DEDUP=false
 * --compare-env      extra environment for the compare-root gateway only (e.g. DENO_V8_FLAGS=…); with
 *                    --compare-root . it compares one checkout under two environments
 */
import { fileURLToPath } from "node:url";
import { SERVICE_RUN_FLAGS } from "../src/setup/permissions.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}
function stringFlag(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}
const RATE = flag("rate", 200);
const SECONDS = flag("seconds", 15);
const SAT_SECONDS = flag("sat-seconds", 10);
const CONNECTIONS = flag("connections", 64);
const UPSTREAM_LATENCY = flag("latency-ms", 10);
const ROUNDS = flag("rounds", 2);
/** Length of one interleaved slot, in seconds (see the latency loop). */
const SLOT = flag("slot-seconds", 1);
const QUICK = Deno.args.includes("--quick");
const COMPARE_ROOT = stringFlag("compare-root");
const GATEWAY_ENV = envFlag("gateway-env");
const COMPARE_ENV = envFlag("compare-env");

/** `K=V,K=V` pairs of a flag as an environment. */
function envFlag(name: string): Record<string, string> {
  return Object.fromEntries(
    (stringFlag(name) ?? "").split(",").filter(Boolean).map((kv) => {
      const eq = kv.indexOf("=");
      return [kv.slice(0, eq), kv.slice(eq + 1)];
    }),
  );
}
const ROOT = fileURLToPath(new URL("../", import.meta.url));

interface Proc {
  port: number;
  child: Deno.ChildProcess;
}

/** Spawns a process that prints `listening <port>` (or, for the gateway, a JSON line with the URL). */
async function spawn(cmd: string, args: string[], env: Record<string, string> = {}, cwd = ROOT): Promise<Proc> {
  const child = new Deno.Command(cmd, { args, cwd, env, stdout: "piped", stderr: "piped", stdin: "null" }).spawn();
  let seen = "";
  const decoder = new TextDecoder();
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd} ${args.join(" ")} did not start:\n${seen}`)), 60_000);
    const watch = async (stream: ReadableStream<Uint8Array>) => {
      for await (const bytes of stream) {
        seen += decoder.decode(bytes, { stream: true });
        const m = /listening (\d+)/.exec(seen) ?? /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(seen) ??
          /Your AI Gateway is now running on http:\/\/localhost:(\d+)/i.exec(seen) ?? /localhost:(\d+)/.exec(seen);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      }
    };
    watch(child.stdout).catch(() => {});
    watch(child.stderr).catch(() => {});
  });
  return { port, child };
}

async function stop(p: Proc): Promise<void> {
  try {
    p.child.kill("SIGTERM");
  } catch { /* gone */ }
  await p.child.status;
}

interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
  /** Sends an OpenAI request (false: a plain GET, for the hello-world). */
  chat: boolean;
  /** Collects the `gateway;dur` of `Server-Timing` (AMAS rows). */
  serverTiming?: boolean;
  /** The serving process, whose CPU time per request is measured (Linux `/proc`). */
  pid?: number;
}

/** CPU ms per request of each target's process, per measured round. */
const cpuPerRequest = new Map<string, number[]>();
/** CPU ms and requests of each target in the round being measured. */
const cpuThisRound = new Map<string, { ms: number; requests: number }>();

/** User + system CPU time of a process in ms (Linux), or NaN elsewhere. */
function cpuMs(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/** `gateway;dur` values seen per target, in ms. */
const gatewayDur = new Map<string, number[]>();

function body(i: number): string {
  return JSON.stringify({
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: `benchmark request ${i} ${Math.random()}` }],
  });
}

/** Open-model latency at a fixed rate, measured from each request's intended send time. */
async function openModel(target: Target, rate: number, seconds: number, measured = true): Promise<number[]> {
  if (target.serverTiming && measured && !gatewayDur.has(target.name)) gatewayDur.set(target.name, []);
  const latencies: number[] = [];
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  let failures = 0;
  const cpu0 = target.pid ? cpuMs(target.pid) : NaN;
  for (let i = 0; i < total; i++) {
    const intended = start + i * interval;
    const wait = intended - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push((async () => {
      try {
        const r = await fetch(target.url, {
          method: target.chat ? "POST" : "GET",
          headers: target.headers,
          body: target.chat ? body(i) : undefined,
        });
        await r.arrayBuffer();
        if (!r.ok) failures++;
        if (target.serverTiming && measured) {
          const m = /gateway;dur=([\d.]+)/.exec(r.headers.get("server-timing") ?? "");
          if (m) gatewayDur.get(target.name)!.push(Number(m[1]));
        }
      } catch {
        failures++;
      }
      latencies.push(performance.now() - intended);
    })());
  }
  await Promise.all(pending);
  if (target.pid && measured) {
    const acc = cpuThisRound.get(target.name) ?? { ms: 0, requests: 0 };
    acc.ms += cpuMs(target.pid) - cpu0;
    acc.requests += total;
    cpuThisRound.set(target.name, acc);
  }
  if (failures) throw new Error(`${target.name}: ${failures} of ${total} requests failed`);
  return latencies;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** wrk at saturation; returns requests/s and the count of non-2xx answers. */
async function saturate(target: Target): Promise<{ rps: number; errors: number }> {
  const script = await Deno.makeTempFile({ suffix: ".lua" });
  const headerLines = Object.entries(target.headers).map(([k, v]) =>
    `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`
  )
    .join("\n");
  await Deno.writeTextFile(
    script,
    target.chat
      ? `wrk.method = "POST"
${headerLines}
counter = 0
request = function()
  counter = counter + 1
  local b = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"saturation ' .. counter .. ' ' .. math.random(1000000000) .. '"}]}'
  return wrk.format(nil, nil, nil, b)
end
`
      : `${headerLines}\n`,
  );
  const out = await new Deno.Command("wrk", {
    args: ["-t2", `-c${CONNECTIONS}`, `-d${SAT_SECONDS}s`, "-s", script, target.url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(script);
  const text = new TextDecoder().decode(out.stdout);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { rps, errors };
}

async function ensurePortkey(): Promise<string> {
  const dir = `${ROOT}bench/peers`;
  const entry = `${dir}/node_modules/@portkey-ai/gateway/build/start-server.js`;
  try {
    await Deno.stat(entry);
  } catch {
    console.error("installing the Portkey gateway into bench/peers (npm)…");
    const r = await new Deno.Command("npm", {
      args: ["install", "--no-audit", "--no-fund", "--loglevel=error"],
      cwd: dir,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!r.success) throw new Error("npm install of @portkey-ai/gateway failed");
  }
  return entry;
}

function amasEnv(upstreamUrl: string): Record<string, string> {
  return {
    AMAS_PORT: "0",
    AMAS_LOG_LEVEL: "warn",
    OPENAI_API_KEY: "sk-bench",
    OPENAI_BASE_URL: upstreamUrl,
    // Rate limits would throttle a benchmark by design; they are measured in their own bench.
    AMAS_RATE_LIMITS_ENABLED: "false",
    AMAS_LOG_BODIES: "false",
    ...GATEWAY_ENV,
  };
}

async function main(): Promise<void> {
  const portkeyEntry = QUICK ? undefined : await ensurePortkey();
  const upstream = await spawn(Deno.execPath(), [
    "run",
    "--allow-net",
    "bench/support/fixed_upstream.ts",
    "--latency-ms",
    String(UPSTREAM_LATENCY),
  ]);
  const upstreamUrl = `http://127.0.0.1:${upstream.port}/v1`;
  const hono = await spawn(Deno.execPath(), ["run", "--allow-net", "bench/support/hello_hono.ts"]);
  const bare = await spawn(Deno.execPath(), [
    "run",
    "--allow-net",
    "bench/support/bare_proxy.ts",
    "--upstream",
    upstreamUrl,
  ]);
  const amas = await spawn(Deno.execPath(), ["run", ...SERVICE_RUN_FLAGS, "src/main.ts"], amasEnv(upstreamUrl));
  const other = COMPARE_ROOT
    ? await spawn(
      Deno.execPath(),
      ["run", ...SERVICE_RUN_FLAGS, "src/main.ts"],
      { ...amasEnv(upstreamUrl), ...COMPARE_ENV },
      COMPARE_ROOT.endsWith("/") ? COMPARE_ROOT : `${COMPARE_ROOT}/`,
    )
    : undefined;
  const portkey = portkeyEntry
    ? await spawn("node", [portkeyEntry, `--port=${freePort()}`, "--headless"], {}, ROOT)
    : undefined;
  const procs = [upstream, hono, bare, amas, ...(other ? [other] : []), ...(portkey ? [portkey] : [])];
  try {
    const targets: Target[] = [
      {
        name: "upstream direct",
        url: `${upstreamUrl}/chat/completions`,
        headers: json(),
        chat: true,
        pid: upstream.child.pid,
      },
      { name: "bare Hono hello-world", url: `http://127.0.0.1:${hono.port}/`, headers: {}, chat: false },
      {
        name: "bare Deno proxy",
        url: `http://127.0.0.1:${bare.port}/v1/chat/completions`,
        headers: json(),
        chat: true,
        pid: bare.child.pid,
      },
      amasTarget("AMAS gateway (miss path)", amas),
    ];
    if (other) targets.push(amasTarget("AMAS gateway (compare-root)", other));
    if (portkey) {
      targets.push({
        name: "Portkey gateway",
        url: `http://127.0.0.1:${portkey.port}/v1/chat/completions`,
        headers: json({
          authorization: "Bearer sk-bench",
          "x-portkey-provider": "openai",
          "x-portkey-custom-host": upstreamUrl,
        }),
        chat: true,
      });
    }
    // Warm every target (JIT, connection pools) before measuring.
    for (const t of targets) await openModel(t, 50, 2, false);

    // Each round is cut into slots of SLOT seconds that visit every target in turn (order reversed every other
    // slot), and each target's latencies are pooled over its slots: drift of the machine's timers over seconds (the
    // direct upstream's p50 moves by ~0.6 ms between runs) then lands on every target alike instead of on whichever
    // target was measured in a slow window. Percentiles are taken per round over the pooled samples.
    const lat = new Map<string, { p50: number[]; p99: number[] }>();
    const slots = Math.max(1, Math.round(SECONDS / SLOT));
    for (let round = 0; round < ROUNDS; round++) {
      const pooled = new Map<string, number[]>(targets.map((t) => [t.name, []]));
      for (let slot = 0; slot < slots; slot++) {
        const order = (round * slots + slot) % 2 === 0 ? targets : [...targets].reverse();
        for (const t of order) pooled.get(t.name)!.push(...await openModel(t, RATE, SECONDS / slots));
      }
      for (const [name, { ms, requests }] of cpuThisRound) {
        cpuPerRequest.set(name, [...cpuPerRequest.get(name) ?? [], ms / requests]);
      }
      cpuThisRound.clear();
      for (const t of targets) {
        const sorted = pooled.get(t.name)!.sort((a, b) => a - b);
        const entry = lat.get(t.name) ?? { p50: [], p99: [] };
        entry.p50.push(percentile(sorted, 50));
        entry.p99.push(percentile(sorted, 99));
        lat.set(t.name, entry);
      }
    }
    const sat = new Map<string, { rps: number; errors: number }>();
    if (!QUICK) { for (const t of targets) sat.set(t.name, await saturate(t)); }

    const direct = lat.get("upstream direct")!;
    const d50 = median(direct.p50), d99 = median(direct.p99);
    console.log(
      `\nGateway overhead, cache-miss path — upstream fixed at ${UPSTREAM_LATENCY} ms, ${RATE} req/s open model for ` +
        `${SECONDS} s × ${ROUNDS} rounds, interleaved in ${SLOT}-s slots (medians of rounds), ` +
        (QUICK ? "no saturation runs (--quick)\n" : `saturation: wrk -t2 -c${CONNECTIONS} ${SAT_SECONDS} s\n`),
    );
    console.log(
      "| target | p50 ms | p99 ms | added p50 ms | added p99 ms | saturation req/s | errors |\n|---|---|---|---|---|---|---|",
    );
    for (const t of targets) {
      const l = lat.get(t.name)!, s = sat.get(t.name) ?? { rps: NaN, errors: 0 };
      const p50 = median(l.p50), p99 = median(l.p99);
      const added = t.chat && t.name !== "upstream direct"
        ? [(p50 - d50).toFixed(2), (p99 - d99).toFixed(2)]
        : ["—", "—"];
      console.log(
        `| ${t.name} | ${p50.toFixed(2)} | ${p99.toFixed(2)} | ${added[0]} | ${added[1]} | ${
          Number.isNaN(s.rps) ? "—" : s.rps.toFixed(0)
        } | ${Number.isNaN(s.rps) ? "—" : s.errors} |`,
      );
    }
    for (const [name, durs] of gatewayDur) {
      const sorted = [...durs].sort((a, b) => a - b);
      if (!sorted.length) continue;
      console.log(
        `\n${name}: own time per request (Server-Timing gateway;dur, every measured request): p50 ${
          percentile(sorted, 50).toFixed(3)
        } ms, p99 ${percentile(sorted, 99).toFixed(3)} ms`,
      );
    }
    for (const [name, runs] of cpuPerRequest) {
      console.log(
        `${name}: process CPU per request (user+system, /proc): ${median(runs).toFixed(3)} ms (rounds: ${
          runs.map((x) => x.toFixed(3)).join(", ")
        })`,
      );
    }
    if (COMPARE_ROOT) {
      console.log(
        `compare-root: ${COMPARE_ROOT}${Object.keys(COMPARE_ENV).length ? ` with ${JSON.stringify(COMPARE_ENV)}` : ""}`,
      );
    }
    if (!QUICK) {
      const amasRps = sat.get("AMAS gateway (miss path)")!.rps, portkeyRps = sat.get("Portkey gateway")!.rps;
      console.log(`\nAMAS / Portkey saturation throughput: ${(amasRps / portkeyRps).toFixed(2)}×`);
    }
  } finally {
    for (const p of procs) await stop(p);
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** An AMAS gateway process as a target of the cache-miss path (`x-amas-cache: bypass`). */
function amasTarget(name: string, proc: Proc): Target {
  return {
    name,
    url: `http://127.0.0.1:${proc.port}/v1/chat/completions`,
    headers: json({ "x-amas-cache": "bypass" }),
    chat: true,
    serverTiming: true,
    pid: proc.child.pid,
  };
}

function json(extra: Record<string, string> = {}): Record<string, string> {
  return { "content-type": "application/json", ...extra };
}

if (import.meta.main) await main();
