/**
 * The index snapshot replicas share through a real redis-server (own port): a replica that starts after another
 * published loads the graphs instead of building them, then reconciles with the store; a corrupt or mismatched
 * snapshot makes it build, as before.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createClient, RESP_TYPES } from "redis";
import { type CacheStats, SemanticCache } from "../../src/cache/semantic_cache.ts";
import { cacheConfigSchema } from "../../src/cache/config.ts";
import { storeConfigSchema } from "../../src/store/config.ts";
import { openRedisStore } from "../../src/store/redis_store.ts";
import { openUpstashStore } from "../../src/store/upstash_store.ts";
import { startUpstashBridge } from "../support/upstash_bridge.ts";
import type { RemoteStore } from "../../src/store/remote_store.ts";
import { HashEmbedder } from "../../src/embed/hash_embedder.ts";
import { TestRedis } from "../support/redis.ts";

const config = (extra: Record<string, unknown> = {}) =>
  cacheConfigSchema.parse({ embedder: "hash", similarityThreshold: 0.7, snapshotMinChanges: 100, ...extra });
const storeConfig = storeConfigSchema.parse({ blockMs: 100, commandTimeoutMs: 5_000 });

/** Texts of one scope: enough for an HNSW graph (more than 512 vectors), plus a small flat scope. */
const graphTexts = Array.from({ length: 700 }, (_, i) => `how do I configure widget ${i} for the ${i % 7} team`);
const flatTexts = Array.from({ length: 40 }, (_, i) => `what is the price of plan ${i} per seat`);

async function openCache(store: RemoteStore, extra: Record<string, unknown> = {}): Promise<SemanticCache> {
  return await SemanticCache.open({ config: config(extra), store, embedder: new HashEmbedder(), awaitWarm: true });
}

/** A replica that publishes the snapshot of 740 entries on close; returns the ids it stored by text. */
async function publisher(
  redis: TestRedis,
  open: () => Promise<RemoteStore> = () => openRedisStore({ url: redis.url, config: storeConfig }),
): Promise<Map<string, string>> {
  const store = await open();
  const a = await openCache(store);
  const ids = new Map<string, string>();
  try {
    for (let i = 0; i < graphTexts.length; i += 50) {
      await Promise.all(
        graphTexts.slice(i, i + 50).map(async (query) => {
          ids.set(
            query,
            (await a.putText({ tenant: "acme", agentId: "support", query, response: `answer: ${query}` })).id,
          );
        }),
      );
    }
    for (const query of flatTexts) {
      ids.set(query, (await a.putText({ tenant: "acme", agentId: "sales", query, response: `answer: ${query}` })).id);
    }
    assert.equal(a.index.stats().graphScopes, 1);
    assert.equal(a.stats().shared_snapshot?.published, 0, "nothing is published before it is due");
  } finally {
    // Closing hands the index on: it changed by more than snapshotMinChanges and the cluster has no snapshot.
    await a.close();
    await store.close();
  }
  assert.equal(a.stats().shared_snapshot?.published, 1);
  return ids;
}

Deno.test("a replica started after another published loads the shared index, then adds and removes what changed since", async () => {
  const redis = await TestRedis.start();
  const stores: RemoteStore[] = [];
  const caches: SemanticCache[] = [];
  try {
    const ids = await publisher(redis);

    // After the snapshot: another replica (not sharing) adds entries and invalidates some.
    const writerStore = await openRedisStore({ url: redis.url, config: storeConfig });
    stores.push(writerStore);
    const writer = await openCache(writerStore, { sharedSnapshot: false });
    caches.push(writer);
    const later = Array.from({ length: 20 }, (_, i) => `how do I configure gadget ${i} after the snapshot`);
    for (const query of later) await writer.putText({ tenant: "acme", agentId: "support", query, response: "later" });
    const gone = graphTexts.slice(0, 5);
    for (const query of gone) assert.ok(await writer.invalidate(ids.get(query)!, "acme"));
    await writer.close();

    const store = await openRedisStore({ url: redis.url, config: storeConfig });
    stores.push(store);
    const b = await openCache(store);
    caches.push(b);
    const stats = b.stats();
    assert.equal(stats.warm.source, "shared-snapshot", JSON.stringify(stats.warm));
    assert.equal(stats.warm.restored, graphTexts.length + flatTexts.length);
    assert.equal(stats.index.graphScopes, 1, "the graph came over as a graph");
    assert.equal(b.index.size, graphTexts.length + flatTexts.length - gone.length + later.length);
    assert.equal(b.size, b.index.size);
    for (const query of gone) assert.equal(b.index.has(ids.get(query)!), false, "invalidated since: removed");

    // Entries written after the snapshot are searchable, and so are the ones that came with it.
    const afterHit = await b.lookupText({
      tenant: "acme",
      agentId: "support",
      query: "how do I configure gadget 7 after snapshot",
    });
    assert.equal(afterHit.hit, "semantic");
    assert.equal(afterHit.entry?.semanticText, later[7]);
    const oldHit = await b.lookupText({
      tenant: "acme",
      agentId: "support",
      query: "how do I configure widget 321 for the 6 team please",
    });
    assert.equal(oldHit.hit, "semantic", "found through the loaded graph");
    assert.equal(oldHit.entry?.semanticText, graphTexts[321]);
    const flatHit = await b.lookupText({
      tenant: "acme",
      agentId: "sales",
      query: "what is the price of plan 12 per seat please",
    });
    assert.equal(flatHit.entry?.semanticText, flatTexts[12]);
    assert.equal((await b.lookupText({ tenant: "acme", agentId: "support", query: gone[2] })).hit, null);

    // The stream keeps the loaded index live.
    await writerStore.put({
      ...(await writerStore.get(ids.get(graphTexts[100])!))!,
      id: "fresh",
      exactKey: "fresh",
      semanticText: "a completely fresh question about zebras",
    });
    const deadline = Date.now() + 5_000;
    while (!b.index.has("fresh") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(b.index.has("fresh"), "a change on the stream reaches the restored index");
  } finally {
    for (const c of caches) await c.close();
    for (const s of stores) await s.close();
    await redis.stop();
  }
});

Deno.test("a corrupt, mismatched or missing shared snapshot makes the replica build its index from the store", async () => {
  const redis = await TestRedis.start();
  const raw = createClient({ url: redis.url, RESP: 2 });
  await raw.connect();
  const p = storeConfig.keyPrefix;
  try {
    await publisher(redis);
    const generation = String(await raw.get(`${p}snap:hash/256:current`));
    const manifestKey = `${p}snap:hash/256:${generation}:manifest`;
    const manifest = String(await raw.get(manifestKey));
    const total = graphTexts.length + flatTexts.length;

    // These replicas never publish (a broken snapshot would otherwise be replaced; checked at the end).
    const start = async (): Promise<CacheStats> => {
      const store = await openRedisStore({ url: redis.url, config: storeConfig });
      const cache = await openCache(store, { snapshotMinChanges: 100_000 });
      try {
        const stats = cache.stats();
        assert.equal(cache.index.size, total, "the index is complete whatever the snapshot");
        const hit = await cache.lookupText({
          tenant: "acme",
          agentId: "support",
          query: "how do I configure widget 321 for the 6 team please",
        });
        assert.equal(hit.entry?.semanticText, graphTexts[321]);
        return stats;
      } finally {
        await cache.close();
        await store.close();
      }
    };

    // A flipped byte in the middle of the graph file: the hash does not match.
    const graphFile = (JSON.parse(manifest).files as { name: string }[]).findIndex((f) => f.name.endsWith(".hnsw"));
    const chunkKey = `${p}snap:hash/256:${generation}:${graphFile}:0`;
    const chunk = await raw.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }).get(chunkKey) as Buffer;
    const bytes = Buffer.from(chunk);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    await raw.set(chunkKey, bytes);
    let stats = await start();
    assert.equal(stats.warm.source, "store");
    assert.match(stats.warm.fallback ?? "", /SHA-256/);

    // A chunk that expired (or was retired) before the download.
    await raw.del(chunkKey);
    stats = await start();
    assert.equal(stats.warm.source, "store");
    assert.match(stats.warm.fallback ?? "", /missing/);
    await raw.set(chunkKey, chunk);
    assert.equal((await start()).warm.source, "shared-snapshot", "restored chunk: usable again");

    // A format this replica does not read, and a manifest for another dimension.
    await raw.set(manifestKey, JSON.stringify({ ...JSON.parse(manifest), format: 2 }));
    stats = await start();
    assert.equal(stats.warm.source, "store");
    assert.match(stats.warm.fallback ?? "", /format 2/);
    await raw.set(manifestKey, JSON.stringify({ ...JSON.parse(manifest), dimension: 128 }));
    assert.match((await start()).warm.fallback ?? "", /128d/);
    // Chunks stored as base64 (by an Upstash replica) are not for a node-redis replica.
    await raw.set(manifestKey, JSON.stringify({ ...JSON.parse(manifest), encoding: "base64" }));
    assert.match((await start()).warm.fallback ?? "", /stored as base64/);
    await raw.set(manifestKey, "{not json");
    assert.equal((await start()).warm.source, "store");

    // A replica that finds the snapshot broken replaces it once warm (its whole index is news to the cluster).
    await raw.set(manifestKey, manifest);
    await raw.del(chunkKey);
    {
      const store = await openRedisStore({ url: redis.url, config: storeConfig });
      const fixer = await openCache(store);
      assert.match(fixer.stats().warm.fallback ?? "", /missing/);
      const deadline = Date.now() + 10_000;
      while (fixer.stats().shared_snapshot?.published !== 1 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(fixer.stats().shared_snapshot?.published, 1, "the broken generation is replaced");
      await fixer.close();
      await store.close();
      assert.notEqual(String(await raw.get(`${p}snap:hash/256:current`)), generation);
      assert.equal((await start()).warm.source, "shared-snapshot");
    }

    // Another embedder reads its own namespace: nothing there.
    const store = await openRedisStore({ url: redis.url, config: storeConfig });
    const other = await SemanticCache.open({
      config: config({ snapshotMinChanges: 100_000 }),
      store,
      embedder: new HashEmbedder({ dimension: 128 }),
      awaitWarm: true,
    });
    assert.equal(other.stats().warm.source, "store");
    assert.match(other.stats().warm.fallback ?? "", /no shared snapshot/);
    assert.equal(other.index.size, total, "re-embedded with its own embedder");
    await other.close();
    await store.close();
  } finally {
    await raw.close();
    await redis.stop();
  }
});

Deno.test("one publisher at a time; the previous generation expires after the switch; temp files are removed", async () => {
  const redis = await TestRedis.start();
  const raw = createClient({ url: redis.url, RESP: 2 });
  await raw.connect();
  const p = storeConfig.keyPrefix;
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  const leftovers = async () => {
    const names: string[] = [];
    for await (const e of Deno.readDir(tmp)) if (e.name.startsWith("amas-index-")) names.push(e.name);
    return names.sort();
  };
  const before = await leftovers();
  try {
    await publisher(redis);
    const first = String(await raw.get(`${p}snap:hash/256:current`));
    const store = await openRedisStore({ url: redis.url, config: storeConfig });
    const cache = await openCache(store);
    try {
      // Another replica holds the lock: no publish.
      await raw.set(`${p}snap:hash/256:lock`, "someone-else", { PX: 60_000 });
      assert.equal(await cache.publishSnapshot(), null);
      await raw.del(`${p}snap:hash/256:lock`);
      const manifest = await cache.publishSnapshot();
      assert.ok(manifest && manifest.generation !== first);
      assert.equal(String(await raw.get(`${p}snap:hash/256:current`)), manifest.generation);
      const oldTtl = await raw.pTTL(`${p}snap:hash/256:${first}:manifest`);
      assert.ok(oldTtl > 0 && oldTtl <= 5 * 60_000, `the previous generation expires soon (pttl ${oldTtl})`);
      const newTtl = await raw.pTTL(`${p}snap:hash/256:${manifest.generation}:0:0`);
      assert.ok(newTtl > 24 * 3_600_000, "the current generation's chunks live long");
      assert.equal(await raw.exists(`${p}snap:hash/256:lock`), 0, "the lock is released");
    } finally {
      await cache.close();
      await store.close();
    }
    assert.deepEqual(await leftovers(), before, "no temporary directory left behind");
  } finally {
    await raw.close();
    await redis.stop();
  }
});

Deno.test("changes made while a replica loads the shared snapshot are not lost", async () => {
  const redis = await TestRedis.start();
  const ids = await publisher(redis);
  const writerStore = await openRedisStore({ url: redis.url, config: storeConfig });
  const store = await openRedisStore({ url: redis.url, config: storeConfig });
  let c: SemanticCache | undefined;
  try {
    // Not awaiting the warm-up: the writes below land while C downloads, loads or reconciles.
    c = await SemanticCache.open({ config: config(), store, embedder: new HashEmbedder() });
    const template = (await writerStore.get(ids.get(graphTexts[0])!))!;
    await writerStore.put({ ...template, id: "during", exactKey: "during", createdAt: Date.now() });
    assert.ok(await writerStore.delete(ids.get(graphTexts[1])!));
    await c.whenReady();
    assert.equal(c.stats().warm.source, "shared-snapshot");
    const deadline = Date.now() + 5_000;
    const settled = () => c!.index.has("during") && !c!.index.has(ids.get(graphTexts[1])!);
    while (!settled() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(c.index.has("during"), "an entry written during the warm-up is indexed");
    assert.equal(c.index.has(ids.get(graphTexts[1])!), false, "an entry deleted during the warm-up is gone");
    assert.equal(c.index.size, graphTexts.length + flatTexts.length);
  } finally {
    await c?.close();
    await store.close();
    await writerStore.close();
    await redis.stop();
  }
});

Deno.test("over Upstash REST the snapshot is shared as base64; a node-redis replica does not read it and builds", async () => {
  const redis = await TestRedis.start();
  const bridge = await startUpstashBridge(redis.url);
  const upstash = () => openUpstashStore({ url: bridge.url, token: bridge.token, config: storeConfig });
  try {
    await publisher(redis, upstash);
    const store = await upstash();
    const b = await openCache(store);
    assert.equal(b.stats().warm.source, "shared-snapshot", JSON.stringify(b.stats().warm));
    assert.equal(b.index.size, graphTexts.length + flatTexts.length);
    await b.close();
    await store.close();

    const redisStore = await openRedisStore({ url: redis.url, config: storeConfig });
    const c = await openCache(redisStore);
    assert.equal(c.stats().warm.source, "store");
    assert.match(c.stats().warm.fallback ?? "", /stored as base64/);
    assert.equal(c.index.size, graphTexts.length + flatTexts.length);
    await c.close();
    await redisStore.close();
  } finally {
    await bridge.close();
    await redis.stop();
  }
});
