/**
 * Warm start of a replica from Redis: seeds N cache entries (512-d embeddings, the USE-lite dimension) into a
 * redis-server of its own (raw pipelined SETs in the store's layout, or `--seed=store` through the store's Lua
 * puts, which also fills the stream), then times, side by side in one run, what a new replica does before it is
 * ready (the `cache` readiness check), each with the real `SemanticCache.open` and a fresh store connection:
 *
 * 1. `scan()` of the store alone (the store's share: read + decode every entry);
 * 2. the old path: scan + build the HNSW index from the embeddings (what a replica does when no snapshot is
 *    published yet, or with `AMAS_CACHE_SHARED_SNAPSHOT=false`); its index is then published;
 * 3. the new path: download the index snapshot another replica published, load it, then reconcile with a scan
 *    that skips the embeddings the loaded index holds (entries written after the snapshot, `--after`, are added
 *    and `--after` / 10 deleted ones removed).
 *
 * Target: ≤ 20 s for 100k entries.
 *
 *     deno run -A bench/warm_start.ts [--entries=100000] [--after=1000] [--repeat=3] [--scopes=20] [--dim=512]
 *       [--seed=store]
 *
 * The embedder is never called while warming (entries carry their embeddings); the bench gives the cache a cheap
 * stand-in named `use-lite` so that the stored vectors count as its own.
 *
 * @module
 */
import { cacheConfigSchema } from "../src/cache/config.ts";
import { SemanticCache } from "../src/cache/semantic_cache.ts";
import { HashEmbedder } from "../src/embed/hash_embedder.ts";
import type { Embedder } from "../src/embed/types.ts";
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
const AFTER = arg("after", Math.round(N / 100));
const SEED_THROUGH_STORE = Deno.args.includes("--seed=store");
/** Rounds of scan-only and new path (alternating; medians are reported). The old path runs once: it is slow. */
const REPEAT = arg("repeat", 3);
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

/** Stands in for USE-lite (same name and dimension); only the start-up "warm up" call reaches it. */
function standInEmbedder(): Embedder {
  const hash = new HashEmbedder({ dimension: DIM });
  return { name: "use-lite", dimension: DIM, embed: (t) => hash.embed(t), close: () => Promise.resolve() };
}

const redis = await TestRedis.start();
const config = storeConfigSchema.parse({ commandTimeoutMs: 10_000 });
// Publishing is explicit here (not on the replicas' own schedule), so that each step is timed alone.
const cacheConfig = () => cacheConfigSchema.parse({ maxEntries: 10_000_000, snapshotMinChanges: 1_000_000_000 });
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
try {
  const progress = (msg: string) => console.error(`[warm_start] ${msg}`);
  progress(`seeding ${N} entries ${SEED_THROUGH_STORE ? "through the store" : "with pipelined SETs"}`);
  const seedStart = performance.now();
  const now = Date.now();
  const client = createClient({ url: redis.url, RESP: 2 });
  await client.connect();
  const setAll = async (from: number, to: number) => {
    for (let i = from; i < to; i += 1_000) {
      const multi = client.multi();
      for (let j = i; j < Math.min(to, i + 1_000); j++) {
        const e = entry(j, now);
        multi.set(`${config.keyPrefix}e:${e.id}`, encodeEntry(e), { PXAT: e.expiresAt });
      }
      await multi.execAsPipeline();
    }
  };
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
    await setAll(0, N);
  }
  const seedMs = performance.now() - seedStart;
  progress(`seeded in ${s(seedMs)}; old path: scan + HNSW build`);

  // ---- old path: a replica with no snapshot builds its index from the scan ----
  const rss0 = Deno.memoryUsage().rss;
  const storeB = await openRedisStore({ url: redis.url, config });
  const oldStart = performance.now();
  // Sharing on, but nothing published yet: the replica builds (the path every replica took before).
  let built: SemanticCache | undefined = await SemanticCache.open({
    config: cacheConfig(),
    store: storeB,
    embedder: standInEmbedder(),
    awaitWarm: true,
  });
  const oldMs = performance.now() - oldStart;
  const rssOld = Deno.memoryUsage().rss;
  const builtStats = built.stats();
  progress(`old path ready in ${s(oldMs)}; publishing its index`);

  // The built index, published as a replica does (on the store's blob keys).
  const pubStart = performance.now();
  const manifest = await built.publishSnapshot();
  const publishMs = performance.now() - pubStart;
  if (!manifest) throw new Error(`publish failed: ${JSON.stringify(built.stats().shared_snapshot)}`);
  await built.close();
  await storeB.close();
  built = undefined; // the new path below runs in a process that holds no other index, like a new replica

  // Changes after the snapshot: new entries, and some of the snapshot's entries deleted.
  await setAll(N, N + AFTER);
  const deleted = Math.floor(AFTER / 10);
  const victims: string[] = [];
  for await (const key of client.scanIterator({ MATCH: `${config.keyPrefix}e:*`, COUNT: 1000 })) {
    for (const k of Array.isArray(key) ? key : [key]) if (victims.length < deleted) victims.push(k);
    if (victims.length >= deleted) break;
  }
  if (victims.length) await client.del(victims);
  await client.close();
  progress(`published ${(manifest.bytes / 1024 / 1024).toFixed(0)} MB in ${s(publishMs)}`);

  // ---- the store's share alone (scan + decode) and the new path, alternating, as fresh replicas ----
  const scanOnly = async () => {
    const replica = await openRedisStore({ url: redis.url, config });
    const t = performance.now();
    let n = 0;
    for await (const e of replica.scan()) if (e.embedding) n++;
    const ms = performance.now() - t;
    await replica.close();
    if (n !== N + AFTER - victims.length) throw new Error(`scan read ${n} entries`);
    return ms;
  };
  // Download + load the shared snapshot, then reconcile with a scan that skips the embeddings it holds.
  const newPath = async () => {
    const rss = Deno.memoryUsage().rss;
    const store = await openRedisStore({ url: redis.url, config });
    const t = performance.now();
    const cache = await SemanticCache.open({
      config: cacheConfig(),
      store,
      embedder: standInEmbedder(),
      awaitWarm: true,
    });
    const ms = performance.now() - t;
    const stats = cache.stats();
    const grew = Deno.memoryUsage().rss - rss;
    await cache.close();
    await store.close();
    return { ms, stats, grew };
  };
  const scans: number[] = [];
  const news: Awaited<ReturnType<typeof newPath>>[] = [];
  for (let r = 0; r < REPEAT; r++) {
    scans.push(await scanOnly());
    news.push(await newPath());
    progress(`round ${r + 1}/${REPEAT}: scan only ${s(scans[r])}, new path ${s(news[r].ms)}`);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const scanMs = median(scans);
  const newMs = median(news.map((x) => x.ms));
  const mid = news.find((x) => x.ms === newMs)!;
  const loadedStats = mid.stats;
  const all = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(1)).join(", ");

  const [load1] = Deno.loadavg();
  const snapMs = loadedStats.warm.snapshot_ms ?? 0;
  console.log(
    `warm start of a replica from Redis: ${N} entries, ${DIM}-d, ${SCOPES} scopes (${builtStats.index.graphScopes} ` +
      `HNSW graphs), ${navigator.hardwareConcurrency} cores, load average ${load1.toFixed(1)}`,
  );
  console.log(
    `  seed ${SEED_THROUGH_STORE ? "through the store (500 in flight)" : "pipelined SETs (1000/round trip)"}  ${
      s(seedMs)
    }  (${(N / seedMs * 1000).toFixed(0)}/s)`,
  );
  console.log(
    `  1. scan() + decode only (store's share)      median ${s(scanMs)}  (runs: ${all(scans)} s; ` +
      `${N + AFTER - victims.length} entries)`,
  );
  console.log(
    `  2. old path: scan + HNSW build, to ready     ${s(oldMs)}  (${builtStats.index.size} vectors, rss +${
      mb(rssOld - rss0)
    })`,
  );
  console.log(
    `  3. new path: shared snapshot, to ready       median ${s(newMs)}  (runs: ${all(news.map((x) => x.ms))} s)`,
  );
  console.log(
    `     of which download + load ${s(snapMs)}, reconcile scan ${s(newMs - snapMs)}; source ` +
      `${loadedStats.warm.source}, ${loadedStats.warm.restored} loaded, ${loadedStats.index.size} vectors after ` +
      `+${AFTER} −${victims.length}, rss +${mb(news[0].grew)} in the first run`,
  );
  console.log(
    `     target ≤ 20 s: ${newMs <= 20_000 ? "met" : "MISSED"}; old / new ${(oldMs / newMs).toFixed(1)}x; ` +
      `new / scan-only ${(newMs / scanMs).toFixed(2)}x`,
  );
  console.log(
    `  publish (snapshot + upload, by the replica that had it)  ${s(publishMs)}  (${
      (manifest.bytes / 1024 / 1024).toFixed(0)
    } MB in ${manifest.files.length} files)`,
  );
  const expected = N + AFTER - victims.length;
  const wrong = news.filter((x) => x.stats.warm.source !== "shared-snapshot" || x.stats.index.size !== expected);
  if (wrong.length) {
    console.log(
      `  ERROR: expected ${expected} vectors from the shared snapshot: ${JSON.stringify(wrong[0].stats.warm)}`,
    );
    Deno.exitCode = 1;
  }
} finally {
  await redis.stop();
}
