/**
 * Warm start of a replica from Redis: seeds N cache entries (512-d embeddings, the USE-lite dimension) into a
 * redis-server of its own (raw pipelined SETs in the store's layout, or `--seed=store` through the store's Lua
 * puts, which also fills the stream), then times what a new replica does before it is ready:
 * `scan()` of the store alone (the baseline: the store's share), and `scan()` feeding the cache's HNSW index
 * (`HnswVectorIndex`, one partition per scope, as the cache builds it). Target: ≤ 20 s for 100k entries.
 *
 *     deno run -A bench/warm_start.ts [--entries=100000] [--scopes=20] [--dim=512]
 *
 * @module
 */
import { HnswVectorIndex } from "../src/cache/vector_index.ts";
import { createClient } from "redis";
import { encodeEntry } from "../src/store/codec.ts";
import { storeConfigSchema } from "../src/store/config.ts";
import { openRedisStore } from "../src/store/redis_store.ts";
import type { CacheEntry } from "../src/store/types.ts";
import { TestRedis } from "../tests/support/redis.ts";

function arg(name: string, fallback: number): number {
  const hit = Deno.args.find((a) => a.startsWith(`--${name}=`));
  return hit ? Number(hit.split("=")[1]) : fallback;
}

const N = arg("entries", 100_000);
const SEED_THROUGH_STORE = Deno.args.includes("--seed=store");
const SCOPES = arg("scopes", 20);
const DIM = arg("dim", 512);

/** A deterministic pseudo-random generator, so runs are comparable. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = rng(42);
// Clustered vectors (topics), like embeddings of real prompts, normalised.
const centroids = Array.from({ length: 200 }, () => Array.from({ length: DIM }, () => rand() * 2 - 1));
function vector(): number[] {
  const c = centroids[Math.floor(rand() * centroids.length)];
  const v = c.map((x) => x + (rand() * 2 - 1) * 0.6);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

function entry(i: number, now: number): CacheEntry {
  const scope = i % SCOPES;
  return {
    id: `bench-${i.toString(36)}-${Math.floor(rand() * 1e9).toString(36)}`,
    tenant: `tenant-${scope % 5}`,
    agentId: `agent-${scope}`,
    scopeKey: `scope-${scope}`,
    exactKey: `exact-${i}`,
    semanticText: `How do I configure feature number ${i} of the product for my team?`,
    embedding: vector(),
    embedder: `use-lite/${DIM}`,
    response: {
      id: `chatcmpl-${i}`,
      object: "chat.completion",
      created: Math.floor(now / 1000),
      model: "sim-small",
      choices: [{
        index: 0,
        message: { role: "assistant", content: `To configure feature ${i}, open the settings page and enable it.` },
        finish_reason: "stop",
      }],
      usage: { prompt_tokens: 18, completion_tokens: 16, total_tokens: 34 },
    } as CacheEntry["response"],
    costUsd: 0.00002,
    createdAt: now,
    expiresAt: now + 3_600_000,
  };
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}

const redis = await TestRedis.start();
const config = storeConfigSchema.parse({ commandTimeoutMs: 10_000 });
try {
  const progress = (msg: string) => console.error(`[warm_start] ${msg}`);
  progress(`seeding ${N} entries ${SEED_THROUGH_STORE ? "through the store" : "with pipelined SETs"}`);
  const seedStart = performance.now();
  const now = Date.now();
  if (SEED_THROUGH_STORE) {
    // The store's own write path (Lua put: entry, namespace indexes, stream), 500 writes in flight.
    const writer = await openRedisStore({ url: redis.url, config });
    for (let i = 0; i < N; i += 500) {
      const batch: Promise<void>[] = [];
      for (let j = i; j < Math.min(N, i + 500); j++) batch.push(writer.put(entry(j, now)));
      await Promise.all(batch);
    }
    if (writer.status().buffered || !writer.status().connected) throw new Error("seeding lost writes; rerun");
    await writer.close();
  } else {
    // Only what a warm-up reads (the entry keys), 1000 per round trip.
    const client = createClient({ url: redis.url, RESP: 2 });
    await client.connect();
    for (let i = 0; i < N; i += 1_000) {
      const multi = client.multi();
      for (let j = i; j < Math.min(N, i + 1_000); j++) {
        const e = entry(j, now);
        multi.set(`${config.keyPrefix}e:${e.id}`, encodeEntry(e), { PXAT: e.expiresAt });
      }
      await multi.execAsPipeline();
    }
    await client.close();
  }
  const seedMs = performance.now() - seedStart;
  progress(`seeded in ${(seedMs / 1000).toFixed(1)} s; scanning`);

  // ---- baseline: the store's share (scan + decode), as a fresh replica ----
  const replicaA = await openRedisStore({ url: redis.url, config });
  const scanStart = performance.now();
  let scanned = 0;
  for await (const e of replicaA.scan()) if (e.embedding) scanned++;
  const scanMs = performance.now() - scanStart;
  await replicaA.close();
  progress(`scan only: ${(scanMs / 1000).toFixed(1)} s; scanning into the HNSW index`);

  // ---- scan feeding the cache's index (what readiness waits for) ----
  const rssBefore = Deno.memoryUsage().rss;
  const replicaB = await openRedisStore({ url: redis.url, config });
  const index = new HnswVectorIndex({ dimension: DIM });
  const kept = new Map<string, CacheEntry>();
  const warmStart = performance.now();
  let indexMs = 0;
  for await (const e of replicaB.scan()) {
    const t = performance.now();
    index.add(e.id, e.scopeKey, e.embedding!);
    indexMs += performance.now() - t;
    // The cache keeps the entry to serve it, not the embedding (the index has it).
    e.embedding = undefined;
    kept.set(e.id, e);
  }
  const warmMs = performance.now() - warmStart;
  const rssAfter = Deno.memoryUsage().rss;
  await replicaB.close();

  const stats = index.stats();
  const [load1] = Deno.loadavg();
  console.log(
    `warm start of a replica from Redis: ${N} entries, ${DIM}-d, ${SCOPES} scopes (${stats.graphScopes} HNSW graphs), ` +
      `${navigator.hardwareConcurrency} cores, load average ${load1.toFixed(1)}`,
  );
  console.log(
    `  seed ${SEED_THROUGH_STORE ? "through the store (500 in flight)" : "pipelined SETs (1000/round trip)"}  ${
      (seedMs / 1000).toFixed(1)
    } s  (${(N / seedMs * 1000).toFixed(0)}/s)`,
  );
  console.log(
    `  baseline: scan() + decode only          ${(scanMs / 1000).toFixed(1)} s  (${scanned} entries, ${
      (scanned / scanMs * 1000).toFixed(0)
    }/s)`,
  );
  console.log(
    `  scan() + HNSW index build (warm start)  ${(warmMs / 1000).toFixed(1)} s  (of which index.add ${
      (indexMs / 1000).toFixed(1)
    } s)  target ≤ 20 s: ${warmMs <= 20_000 ? "met" : "MISSED"}`,
  );
  console.log(`  ratio warm start / scan only            ${(warmMs / scanMs).toFixed(1)}x`);
  console.log(
    `  resident memory during warm start       ${mb(rssBefore)} → ${
      mb(rssAfter)
    } (index ${stats.size} vectors, ${kept.size} entries kept)`,
  );
} finally {
  await redis.stop();
}
