/**
 * The cache over real stores: the memory store for TTL, bounds and warm-up; two caches sharing one real
 * redis-server (own port) for replication between replicas.
 */
import assert from "node:assert/strict";
import { SemanticCache } from "../../src/cache/semantic_cache.ts";
import { cacheConfigSchema } from "../../src/cache/config.ts";
import { storeConfigSchema } from "../../src/store/config.ts";
import { MemoryStore } from "../../src/store/memory_store.ts";
import { openRedisStore } from "../../src/store/redis_store.ts";
import { HashEmbedder } from "../../src/embed/hash_embedder.ts";
import { TestRedis } from "../support/redis.ts";
import { Timing } from "../../src/gateway/timing.ts";
import type { ChatCall } from "../../src/gateway/stages.ts";
import type { ChatCompletion } from "../../src/gateway/chat_schema.ts";

function call(content: string, tenant = "acme", agentId = "default"): ChatCall {
  return {
    request: { model: "sim-small", messages: [{ role: "user", content }] },
    tenant,
    agentId,
    cacheMode: "default",
    requestId: crypto.randomUUID(),
    signal: new AbortController().signal,
    timing: new Timing(),
  };
}

function completion(text: string): ChatCompletion {
  return {
    id: `c-${text.length}`,
    object: "chat.completion",
    created: 1,
    model: "sim-small",
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
  };
}

async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const config = (extra: Record<string, unknown> = {}) =>
  cacheConfigSchema.parse({ embedder: "hash", similarityThreshold: 0.7, ...extra });

Deno.test("TTL, least-recently-used eviction and warm-up from the store", async () => {
  let now = 1_000_000;
  const store = await MemoryStore.open({ sweepIntervalMs: 0, now: () => now });
  const cache = await SemanticCache.open({
    config: config({ maxEntries: 3, ttlSeconds: 60, staleSeconds: 0 }),
    store,
    embedder: new HashEmbedder(),
    now: () => now,
    awaitWarm: true,
  });
  try {
    for (const q of ["alpha one", "beta two", "gamma three"]) cache.store(call(q), completion(q));
    await until(() => store.status().entries === 3);
    assert.equal((await cache.lookup(call("alpha one")))?.kind, "exact");
    // "beta two" is now the least recently used: it goes when a fourth entry arrives.
    cache.store(call("delta four"), completion("delta four"));
    await until(() => cache.stats().evictions === 1);
    assert.equal(await cache.lookup(call("beta two")), null);
    assert.equal((await cache.lookup(call("alpha one")))?.kind, "exact");
    await until(async () => (await store.get((await cache.lookup(call("delta four")))!.entryId)) !== null);

    // A second replica over the same store warms its index from it.
    const replica = await SemanticCache.open({
      config: config(),
      store,
      embedder: new HashEmbedder(),
      now: () => now,
      awaitWarm: true,
    });
    assert.equal(replica.size, 3);
    assert.equal((await replica.lookup(call("delta four")))?.kind, "exact");
    assert.equal((await replica.lookup(call("delta four!")))?.kind, "semantic");
    await replica.close();

    now += 61_000;
    assert.equal(await cache.lookup(call("alpha one")), null, "expired entries are not served");
    assert.equal(cache.sweep(), 3);
    assert.equal(cache.size, 0);
  } finally {
    await cache.close();
    await store.close();
  }
});

Deno.test("two caches sharing a real Redis: A's answer is an exact and a semantic hit on B within 1 s; deletes replicate", async () => {
  const redis = await TestRedis.start();
  const storeConfig = storeConfigSchema.parse({ blockMs: 100 });
  const storeA = await openRedisStore({ url: redis.url, config: storeConfig });
  const storeB = await openRedisStore({ url: redis.url, config: storeConfig });
  const a = await SemanticCache.open({
    config: config(),
    store: storeA,
    embedder: new HashEmbedder(),
    awaitWarm: true,
  });
  const b = await SemanticCache.open({
    config: config(),
    store: storeB,
    embedder: new HashEmbedder(),
    awaitWarm: true,
  });
  try {
    a.store(call("What is the capital of France?"), completion("Paris"));
    const started = Date.now();
    await until(async () => (await b.lookup(call("What is the capital of France?")))?.kind === "exact", 1000);
    const semantic = await b.lookup(call("what's the capital of France"));
    assert.equal(semantic?.kind, "semantic");
    assert.equal(semantic?.completion.choices[0].message.content, "Paris");
    assert.ok(Date.now() - started < 1000);
    // Another tenant on B is not served A's entry.
    assert.equal(await b.lookup(call("What is the capital of France?", "globex")), null);

    assert.equal(await b.invalidate(semantic!.entryId, "acme"), true);
    await until(async () => (await a.lookup(call("What is the capital of France?"))) === null, 2000);

    a.store(call("first", "acme", "support"), completion("1"));
    a.store(call("second", "acme", "support"), completion("2"));
    await until(() => b.size === 2, 2000);
    assert.equal(await b.invalidateNamespace("acme", "support"), 2);
    await until(() => a.size === 0, 2000);
  } finally {
    await a.close();
    await b.close();
    await storeA.close();
    await storeB.close();
    await redis.stop();
  }
});

Deno.test("with a snapshot directory the index survives a restart; entries gone meanwhile leave it", async () => {
  const dir = await Deno.makeTempDir();
  const store = await MemoryStore.open({ sweepIntervalMs: 0 });
  try {
    const first = await SemanticCache.open({
      config: config(),
      store,
      embedder: new HashEmbedder(),
      awaitWarm: true,
      snapshotDir: dir,
    });
    for (const q of ["How do I reset my password?", "How do I delete my account?", "How do I export my data?"]) {
      first.store(call(q), completion(q));
    }
    await until(() => first.index.size === 3 && store.status().entries === 3);
    await first.close();
    assert.ok((await Deno.stat(`${dir}/hash_256/manifest.json`)).isFile, "close writes the index snapshot");
    // While the process is down, one entry leaves the store.
    const gone = (await Array.fromAsync(store.scan())).find((e) => e.semanticText === "How do I export my data?")!;
    await store.delete(gone.id);

    const second = await SemanticCache.open({
      config: config(),
      store,
      embedder: new HashEmbedder(),
      awaitWarm: true,
      snapshotDir: dir,
    });
    assert.equal(second.index.size, 2);
    assert.equal(second.index.has(gone.id), false);
    assert.equal((await second.lookup(call("how do I reset my password")))?.kind, "semantic");
    assert.equal(await second.lookup(call("How do I export my data?")), null);
    await second.close();
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("memory store + cache: vectors live once, in the index, and a restart rebuilds it without embedding", async () => {
  const dir = await Deno.makeTempDir();
  class CountingEmbedder extends HashEmbedder {
    texts = 0;
    override embed(texts: string[]): Promise<number[][]> {
      this.texts += texts.length;
      return super.embed(texts);
    }
  }
  const prompts = ["How do I reset my password?", "How do I delete my account?", "How do I export my data?"];
  try {
    {
      const store = await MemoryStore.open({ dataDir: dir, sweepIntervalMs: 0 });
      const cache = await SemanticCache.open({
        config: config(),
        store,
        embedder: new HashEmbedder(),
        awaitWarm: true,
      });
      for (const q of prompts) cache.store(call(q), completion(q));
      await until(() => cache.index.size === 3 && store.status().entries === 3);
      // What the store hands out (and writes to its snapshot) is the index's vector.
      for await (const entry of store.scan()) {
        assert.deepEqual(entry.embedding, Array.from(cache.index.vector(entry.id)!));
      }
      await cache.close();
      await store.close();
    }
    // No index snapshot here (no snapshotDir): the restarted cache builds its index from the store's vectors.
    const store = await MemoryStore.open({ dataDir: dir, sweepIntervalMs: 0 });
    const embedder = new CountingEmbedder();
    const cache = await SemanticCache.open({ config: config(), store, embedder, awaitWarm: true });
    assert.equal(cache.index.size, 3);
    const warmUpTexts = embedder.texts; // open() embeds one text to load the model
    assert.equal((await cache.lookup(call("how do I reset my password")))?.kind, "semantic");
    assert.equal(embedder.texts - warmUpTexts, 1, "only the lookup was embedded, no stored entry again");
    await cache.close();
    await store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
