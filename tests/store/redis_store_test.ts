/**
 * The Redis store against a real redis-server of the test's own (needs `redis-server` on PATH).
 */
import assert from "node:assert/strict";
import { createClient } from "redis";
import { type StoreConfig, storeConfigSchema } from "../../src/store/config.ts";
import { openRedisStore } from "../../src/store/redis_store.ts";
import type { RemoteStore } from "../../src/store/remote_store.ts";
import type { StoreChange } from "../../src/store/types.ts";
import { TestRedis } from "../support/redis.ts";
import { blobContract, scanAll, scanWithoutEmbeddingContract, storeContract } from "./contract.ts";
import { makeEntry, waitFor } from "./fixtures.ts";

const redis = await TestRedis.start();
let prefixes = 0;

/** Fast timeouts so that degraded-mode tests finish quickly. */
function config(overrides: Partial<StoreConfig> = {}): StoreConfig {
  return storeConfigSchema.parse({
    keyPrefix: `t${++prefixes}:`,
    commandTimeoutMs: 2_000,
    connectTimeoutMs: 2_000,
    reconnectMaxDelayMs: 200,
    blockMs: 200,
    ...overrides,
  });
}

async function open(cfg: StoreConfig = config()): Promise<RemoteStore & AsyncDisposable> {
  const store = await openRedisStore({ url: redis.url, config: cfg });
  return Object.assign(store, { [Symbol.asyncDispose]: () => store.close() });
}

storeContract("redis store", () => open());
scanWithoutEmbeddingContract("redis store", () => open());
blobContract("redis store", () => open());

Deno.test("redis store: a change made through one replica reaches the other's subscriber, never its own", async () => {
  const cfg = config();
  await using a = await open(cfg);
  await using b = await open(cfg);
  const seenByA: StoreChange[] = [];
  const seenByB: StoreChange[] = [];
  a.subscribe((c) => seenByA.push(c));
  b.subscribe((c) => seenByB.push(c));
  const entry = makeEntry({ tenant: "acme", agentId: "bot" });
  const started = Date.now();
  await a.put(entry);
  assert.ok(await waitFor(() => seenByB.length >= 1, 10_000));
  const latency = Date.now() - started;
  assert.ok(latency < 1_000, `replicated in ${latency} ms`);
  assert.equal(seenByB[0].op, "put");
  assert.equal((seenByB[0] as { entry: { id: string } }).entry.id, entry.id);
  assert.deepEqual(await b.get(entry.id), await a.get(entry.id));
  await b.delete(entry.id);
  await b.deleteNamespace("acme", "bot");
  assert.ok(await waitFor(() => seenByA.length >= 2, 10_000));
  assert.deepEqual(seenByA.map((c) => c.op), ["delete", "delete_namespace"]);
  assert.deepEqual(seenByA[1], { op: "delete_namespace", tenant: "acme", agentId: "bot" });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(seenByB.length, 1, "a replica must not hear its own writes");
});

Deno.test("redis store: the layout in Redis has TTLs, namespace indexes and a bounded stream", async () => {
  const cfg = config({ streamMaxLen: 100 });
  await using store = await open(cfg);
  const entry = makeEntry({ tenant: "t:1", agentId: "a/1", expiresAt: Date.now() + 30_000 });
  await store.put(entry);
  for (let i = 0; i < 600; i++) await store.delete(`missing-${i}`);
  const client = createClient({ url: redis.url, RESP: 2 });
  await client.connect();
  try {
    const pttl = await client.pTTL(`${cfg.keyPrefix}e:${entry.id}`);
    assert.ok(pttl > 25_000 && pttl <= 30_000, `pttl ${pttl}`);
    assert.deepEqual(await client.zRange(`${cfg.keyPrefix}nt:t%3A1`, 0, -1), [entry.id]);
    assert.deepEqual(await client.zRange(`${cfg.keyPrefix}na:t%3A1:a%2F1`, 0, -1), [entry.id]);
    assert.ok((await client.pTTL(`${cfg.keyPrefix}nt:t%3A1`)) > 0, "namespace index expires with its last entry");
    const len = await client.xLen(`${cfg.keyPrefix}stream`);
    assert.ok(len >= 100 && len < 601, `stream trimmed to about its bound, got ${len}`);
  } finally {
    await client.close();
  }
});

Deno.test("redis store: Redis killed mid-test → writes do not throw, are buffered, and reach Redis after restart", async () => {
  const own = await TestRedis.start();
  const cfg = config({ maxBufferedWrites: 50 });
  const a = await openRedisStore({ url: own.url, config: cfg });
  const b = await openRedisStore({ url: own.url, config: cfg });
  try {
    const seenByB: StoreChange[] = [];
    b.subscribe((c) => seenByB.push(c));
    const before = makeEntry();
    await a.put(before);
    assert.ok(await waitFor(() => seenByB.length === 1));

    await own.stop();
    const during = Array.from({ length: 60 }, () => makeEntry({ tenant: "down" }));
    const started = performance.now();
    for (const e of during) await a.put(e); // must neither throw nor hang
    assert.equal(await a.delete(before.id), false);
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 10_000, `61 writes while down took ${elapsed} ms`);
    assert.equal(a.status().connected, false);
    assert.equal(a.status().buffered, 50);
    assert.equal(a.status().dropped, 11);
    // Reads answer from the buffer (or miss) without waiting.
    assert.equal((await a.get(during[59].id))?.id, during[59].id);
    assert.equal(await a.get(before.id), null);
    assert.deepEqual(await scanAll(a), []);

    await own.restart();
    assert.ok(await waitFor(() => a.status().connected && a.status().buffered === 0, 15_000), "a reconnects");
    assert.ok(await waitFor(() => b.status().connected, 15_000), "b reconnects");
    // The 49 newest puts survived the bound and reached Redis; b heard them on the stream.
    const inRedis = (await scanAll(b)).map((e) => e.id).sort();
    assert.deepEqual(inRedis, during.slice(11).map((e) => e.id).sort());
    assert.ok(
      await waitFor(() => seenByB.filter((c) => c.op === "put").length >= 1 + 49, 10_000),
      `b saw ${seenByB.length} changes`,
    );
    // Writes after the return go straight through again.
    const after = makeEntry();
    await a.put(after);
    assert.ok(await b.get(after.id));
  } finally {
    await a.close();
    await b.close();
    await own.stop();
  }
});

Deno.test("redis store: opening while Redis is down serves degraded, then resynchronises in full", async () => {
  const own = await TestRedis.start();
  const cfg = config();
  const writer = await openRedisStore({ url: own.url, config: cfg });
  const entries = Array.from({ length: 20 }, () => makeEntry());
  for (const e of entries) await writer.put(e);
  await writer.close();
  // Make the stream lose history so the late replica cannot replay it, only rescan.
  const client = createClient({ url: own.url, RESP: 2 });
  await client.connect();
  await client.del(`${cfg.keyPrefix}stream`);
  await client.close();

  const port = own.port;
  await own.stop();
  const started = performance.now();
  const late = await openRedisStore({ url: `redis://127.0.0.1:${port}`, config: cfg });
  try {
    assert.ok(performance.now() - started < 5_000, "open does not wait for Redis");
    assert.equal(late.status().connected, false);
    const seen: StoreChange[] = [];
    late.subscribe((c) => seen.push(c));
    // Redis restarts empty; put the entries back as if it had kept them (an RDB restore).
    await own.restart();
    const again = await openRedisStore({ url: own.url, config: cfg });
    for (const e of entries) await again.put(e);
    await again.close();
    assert.ok(await waitFor(() => late.status().connected, 15_000));
    assert.ok(await waitFor(() => new Set(seen.map((c) => c.op === "put" ? c.entry.id : "")).size >= 20, 10_000));
  } finally {
    await late.close();
    await own.stop();
  }
});

Deno.test("redis store: a write Redis refuses is dropped and counted, and does not degrade the store", async () => {
  const cfg = config();
  await using store = await open(cfg);
  const client = createClient({ url: redis.url, RESP: 2 });
  await client.connect();
  try {
    // The tenant's index is not a sorted set: the put script fails with WRONGTYPE.
    await client.set(`${cfg.keyPrefix}nt:broken`, "not a zset");
    await client.set(`${cfg.keyPrefix}e:garbage`, "{not json");
    await store.put(makeEntry({ tenant: "broken" }));
    assert.equal(store.status().connected, true);
    assert.equal(store.status().buffered, 0);
    assert.equal(store.status().rejected, 1);
    assert.equal(await store.get("garbage"), null);
    assert.equal(store.status().connected, true);
    const fine = makeEntry({ tenant: "fine" });
    await store.put(fine);
    assert.ok(await store.get(fine.id));
  } finally {
    await client.close();
  }
});

Deno.test("redis store: close() flushes what is buffered when Redis is back", async () => {
  const own = await TestRedis.start();
  // A long reconnect backoff, so that it is close() and not the recovery loop that flushes.
  const cfg = config({ reconnectMaxDelayMs: 60_000 });
  const store = await openRedisStore({ url: own.url, config: cfg });
  try {
    await own.stop();
    const entry = makeEntry();
    await store.put(entry);
    assert.equal(store.status().buffered, 1);
    await new Promise((r) => setTimeout(r, 1_600)); // the backoff has grown past a second
    await own.restart();
    assert.equal(store.status().buffered, 1, "the recovery loop is still waiting");
    await store.close();
    const reader = await openRedisStore({ url: own.url, config: cfg });
    assert.equal((await reader.get(entry.id))?.id, entry.id);
    await reader.close();
  } finally {
    await store.close();
    await own.stop();
  }
});

Deno.test("redis store: a buffered write Redis refuses does not block the ones behind it", async () => {
  const own = await TestRedis.start();
  const cfg = config({ reconnectMaxDelayMs: 100 });
  const store = await openRedisStore({ url: own.url, config: cfg });
  try {
    await own.stop();
    const poison = makeEntry({ tenant: "broken" });
    const fine = makeEntry({ tenant: "fine" });
    await store.put(poison);
    await store.put(fine);
    assert.equal(store.status().buffered, 2);
    await own.restart();
    // Before the store reconnects, make the first buffered write fail with WRONGTYPE.
    const client = createClient({ url: own.url, RESP: 2 });
    await client.connect();
    await client.set(`${cfg.keyPrefix}nt:broken`, "not a zset");
    await client.close();
    assert.ok(await waitFor(() => store.status().connected && store.status().buffered === 0, 15_000));
    assert.equal(store.status().rejected, 1);
    assert.ok(await store.get(fine.id), "the write behind the refused one reached Redis");
  } finally {
    await store.close();
    await own.stop();
  }
});

globalThis.addEventListener("unload", () => {
  redis.stop();
});
