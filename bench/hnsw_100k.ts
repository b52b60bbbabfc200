/**
 * The vector index and the cache at 100k entries, side by side with brute force, measured in one run:
 *
 * - HNSW (one scope of 100k 512-d vectors, M=16, efConstruction=100, ef=64): build time, search p50/p99 and
 *   recall@1 against exact brute force; baseline: the brute-force search itself;
 * - resident memory of a whole cache at 100k entries (SemanticCache + memory store + the USE-lite worker),
 *   measured in a child process, with the time its index took to warm from the store.
 *
 * Vectors are synthetic (clustered, normalised, 512-d like USE-lite): embedding 100k real prompts would take
 * longer than the benchmark itself. Run: `deno run -A --v8-flags=--expose-gc bench/hnsw_100k.ts`
 * (`--n 20000` for a quicker run).
 *
 * @module
 */
import { HnswVectorIndex } from "../src/cache/vector_index.ts";
import { normalize } from "../src/embed/types.ts";
import { SemanticCache } from "../src/cache/semantic_cache.ts";
import { cacheConfigSchema } from "../src/cache/config.ts";
import { MemoryStore } from "../src/store/memory_store.ts";
import { UseLiteEmbedder } from "../src/embed/use_lite.ts";
import type { CacheEntry } from "../src/store/types.ts";

const arg = (name: string) => Deno.args[Deno.args.indexOf(name) + 1];
const N = Number(Deno.args.includes("--n") ? arg("--n") : 100_000);
const DIM = 512;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

/** `n` vectors around 1000 cluster centres (prompts come in topics), normalised. */
function clustered(n: number, seed: number): Float32Array[] {
  const r = rng(seed);
  const centres = Array.from({ length: 1000 }, () => Array.from({ length: DIM }, () => r() - 0.5));
  return Array.from({ length: n }, () => {
    const c = centres[Math.floor(r() * centres.length)];
    return Float32Array.from(normalize(c.map((x) => x + (r() - 0.5) * 0.6)));
  });
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

async function memoryChild(): Promise<void> {
  const vectors = clustered(N, 11);
  const store = await MemoryStore.open({ sweepIntervalMs: 0, maxEntries: 0 });
  const now = Date.now();
  for (let i = 0; i < N; i++) {
    const text = `How do I configure option ${i} of the billing module for team ${i % 97}?`;
    const entry: CacheEntry = {
      id: `e${i}`,
      tenant: `tenant${i % 10}`,
      agentId: "agent",
      scopeKey: `scope${i % 10}`,
      exactKey: `e${i}`,
      semanticText: text,
      embedding: Array.from(vectors[i]),
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
  vectors.length = 0;
  const embedder = new UseLiteEmbedder({ workers: 1 });
  await embedder.ready;
  const t0 = performance.now();
  const cache = await SemanticCache.open({
    config: cacheConfigSchema.parse({ maxEntries: N + 1 }),
    store,
    embedder,
    awaitWarm: true,
  });
  const warmMs = performance.now() - t0;
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 200));
  const mem = Deno.memoryUsage();
  console.log(JSON.stringify({ entries: cache.size, warmMs, rss: mem.rss, heapUsed: mem.heapUsed }));
  await cache.close();
  await store.close();
}

async function main(): Promise<void> {
  const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "? ? ?")).split(" ").slice(0, 3).join(" ");
  console.log(
    `HNSW / memory benchmark: ${N} entries, ${DIM}-d, ${navigator.hardwareConcurrency} CPUs, load average ${load}`,
  );
  const data = clustered(N, 11);
  const index = new HnswVectorIndex({ dimension: DIM, initialCapacity: N });
  const t0 = performance.now();
  for (let i = 0; i < N; i++) index.add(`e${i}`, "scope", data[i]);
  const buildS = (performance.now() - t0) / 1000;

  // Queries: points near stored vectors (a paraphrase lands near its original), never identical.
  const r = rng(5);
  const queries = Array.from({ length: 1000 }, () => {
    const base = data[Math.floor(r() * N)];
    return Float32Array.from(normalize(Array.from(base, (x) => x + (r() - 0.5) * 0.02)));
  });
  const hnswMs: number[] = [];
  const results: string[] = [];
  for (const q of queries) {
    const t = performance.now();
    const found = index.search("scope", q, 1);
    hnswMs.push(performance.now() - t);
    results.push(found[0]?.id ?? "");
  }
  const bruteMs: number[] = [];
  let correct = 0;
  const checked = Math.min(200, queries.length);
  for (let qi = 0; qi < checked; qi++) {
    const q = queries[qi];
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
  console.log("\nvector search, one scope of", N, "vectors");
  console.log("                         p50 ms    p99 ms   recall@1");
  console.log(
    `   HNSW (ef=64)        ${pct(hnswMs, 0.5).toFixed(3).padStart(8)}  ${pct(hnswMs, 0.99).toFixed(3).padStart(8)}   ${
      (correct / checked).toFixed(3)
    }    targets p99 <= 1 ms, recall@1 >= 0.99; build ${buildS.toFixed(1)} s`,
  );
  console.log(
    `   baseline: brute force ${pct(bruteMs, 0.5).toFixed(1).padStart(6)}  ${
      pct(bruteMs, 0.99).toFixed(1).padStart(8)
    }   1.000 (by definition)`,
  );

  const child = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", new URL(import.meta.url).pathname, "--child", "--n", String(N)],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const line = new TextDecoder().decode(child.stdout).trim().split("\n").pop() ?? "{}";
  const m = JSON.parse(line);
  const mb = (b: number) => (b / 1024 / 1024).toFixed(0);
  console.log(`\nwhole cache at ${m.entries} entries (SemanticCache + memory store + USE-lite worker), child process`);
  console.log(`   resident memory ${mb(m.rss)} MB (V8 heap used ${mb(m.heapUsed)} MB); target <= 600 MB`);
  console.log(`   index warm-up from the store: ${(m.warmMs / 1000).toFixed(1)} s`);
}

if (Deno.args.includes("--child")) await memoryChild();
else await main();
