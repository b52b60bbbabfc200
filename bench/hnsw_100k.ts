/**
 * The cache at 100k entries, measured in one run and printed side by side with its baselines:
 *
 * - the index warm-up from the store (100k entries → one HNSW graph; M=16, efConstruction=48);
 * - resident memory of the whole cache (SemanticCache + memory store + the USE-lite worker) at 100k entries,
 *   measured before the benchmark holds copies of its own;
 * - HNSW search p50/p99 (ef=64) and recall@1 against exact brute force; baseline: the brute-force search.
 *
 * Vectors are synthetic (1000 topic clusters, normalised, 512-d like USE-lite): embedding 100k real prompts would
 * take far longer than the benchmark. Run: `deno run -A --v8-flags=--expose-gc bench/hnsw_100k.ts`
 * (`--n 20000` for a quicker run). A few CPU-minutes.
 *
 * @module
 */
import { normalize } from "../src/embed/types.ts";
import { SemanticCache } from "../src/cache/semantic_cache.ts";
import { cacheConfigSchema } from "../src/cache/config.ts";
import { MemoryStore } from "../src/store/memory_store.ts";
import { UseLiteEmbedder } from "../src/embed/use_lite.ts";
import type { CacheEntry } from "../src/store/types.ts";

const arg = (name: string) => Deno.args[Deno.args.indexOf(name) + 1];
const N = Number(Deno.args.includes("--n") ? arg("--n") : 100_000);
const DIM = 512;
const SCOPE = "bench-scope";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

const centresRandom = rng(11);
const centres = Array.from({ length: 1000 }, () => Float32Array.from({ length: DIM }, () => centresRandom() - 0.5));

/** Vector `i`, regenerated identically whenever asked (so the benchmark need not hold a copy while measuring). */
function vector(i: number): number[] {
  const r = rng(1_000_003 * (i + 1));
  const c = centres[Math.floor(r() * centres.length)];
  return normalize(Array.from(c, (x) => x + (r() - 0.5) * 0.6));
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}
const mb = (b: number) => (b / 1024 / 1024).toFixed(0);

const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "? ? ?")).split(" ").slice(0, 3).join(" ");
console.log(`cache at ${N} entries, ${DIM}-d, ${navigator.hardwareConcurrency} CPUs, load average ${load}`);

const before = Deno.memoryUsage().rss;
const store = await MemoryStore.open({ sweepIntervalMs: 0, maxEntries: 0 });
const now = Date.now();
for (let i = 0; i < N; i++) {
  const entry: CacheEntry = {
    id: `e${i}`,
    tenant: "bench",
    agentId: "agent",
    scopeKey: SCOPE,
    exactKey: `x${i}`,
    semanticText: `How do I configure option ${i} of the billing module for team ${i % 97}?`,
    embedding: vector(i),
    embedder: "use-lite/512",
    response: {
      id: `chatcmpl-${i}`,
      object: "chat.completion",
      created: 1,
      model: "gpt-4o-mini",
      choices: [{
        index: 0,
        message: { role: "assistant", content: `Answer ${i}: `.padEnd(400, "lorem ipsum dolor sit amet ") },
        finish_reason: "stop",
      }],
      usage: { prompt_tokens: 20, completion_tokens: 90, total_tokens: 110 },
    },
    costUsd: 0.0001,
    createdAt: now,
    expiresAt: now + 86_400_000,
  };
  await store.put(entry);
}
const embedder = new UseLiteEmbedder({ workers: 1 });
await embedder.ready;
const t0 = performance.now();
const cache = await SemanticCache.open({
  config: cacheConfigSchema.parse({ maxEntries: N + 1 }),
  store,
  embedder,
  awaitWarm: true,
});
const warmS = (performance.now() - t0) / 1000;
(globalThis as { gc?: () => void }).gc?.();
await new Promise((r) => setTimeout(r, 300));
const mem = Deno.memoryUsage();
console.log(`\nwhole cache (SemanticCache + memory store + USE-lite worker) holding ${cache.size} entries`);
console.log(
  `   resident memory ${mb(mem.rss)} MB (process before: ${mb(before)} MB; V8 heap used ${
    mb(mem.heapUsed)
  } MB)   target <= 600 MB`,
);
console.log(`   index warm-up from the store: ${warmS.toFixed(1)} s (${(N / warmS).toFixed(0)} entries/s)`);

// Search: queries near stored vectors (a paraphrase lands near its original), never identical.
const data = Array.from({ length: N }, (_, i) => Float32Array.from(vector(i)));
const r = rng(5);
const queries = Array.from({ length: 1000 }, () => {
  const base = data[Math.floor(r() * N)];
  return normalize(Array.from(base, (x) => x + (r() - 0.5) * 0.02));
});
const index = cache.index;
const hnswMs: number[] = [];
const results: string[] = [];
for (const q of queries) {
  const t = performance.now();
  const found = index.search(SCOPE, q, 1);
  hnswMs.push(performance.now() - t);
  results.push(found[0]?.id ?? "");
}
const bruteMs: number[] = [];
let correct = 0;
const checked = 200;
for (let qi = 0; qi < checked; qi++) {
  const q = Float32Array.from(queries[qi]);
  const t = performance.now();
  let best = -2, bestId = -1;
  for (let i = 0; i < N; i++) {
    const v = data[i];
    let s = 0;
    for (let j = 0; j < DIM; j++) s += q[j] * v[j];
    if (s > best) [best, bestId] = [s, i];
  }
  bruteMs.push(performance.now() - t);
  if (results[qi] === `e${bestId}`) correct++;
}
console.log(`\nk-NN search (k=1) in one scope of ${N} vectors`);
console.log("                           p50 ms    p99 ms   recall@1");
console.log(
  `   HNSW (ef=64)          ${pct(hnswMs, 0.5).toFixed(3).padStart(8)}  ${pct(hnswMs, 0.99).toFixed(3).padStart(8)}   ${
    (correct / checked).toFixed(3)
  }    targets p99 <= 1 ms, recall@1 >= 0.99 (vs brute force, ${checked} queries)`,
);
console.log(
  `   baseline: brute force ${pct(bruteMs, 0.5).toFixed(1).padStart(8)}  ${
    pct(bruteMs, 0.99).toFixed(1).padStart(8)
  }   1.000`,
);
console.log(`   index: ${JSON.stringify(index.stats())}`);
await cache.close();
await store.close();
