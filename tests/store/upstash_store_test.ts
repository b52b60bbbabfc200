/**
 * The Upstash store through the REST bridge (tests/support/upstash_bridge.ts) to a real redis-server of the
 * test's own: `@upstash/redis` speaks the REST protocol, the bridge forwards to Redis.
 */
import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";
import { type StoreConfig, storeConfigSchema } from "../../src/store/config.ts";
import type { RemoteStore } from "../../src/store/remote_store.ts";
import { openRedisStore } from "../../src/store/redis_store.ts";
import { openUpstashStore } from "../../src/store/upstash_store.ts";
import type { StoreChange } from "../../src/store/types.ts";
import { TestRedis } from "../support/redis.ts";
import { startUpstashBridge } from "../support/upstash_bridge.ts";
import { blobContract, scanAll, scanWithoutEmbeddingContract, storeContract } from "./contract.ts";
import { makeEntry, waitFor } from "./fixtures.ts";

const redis = await TestRedis.start();
const bridge = await startUpstashBridge(redis.url);
let prefixes = 0;

function config(overrides: Partial<StoreConfig> = {}): StoreConfig {
  return storeConfigSchema.parse({
    keyPrefix: `u${++prefixes}:`,
    commandTimeoutMs: 2_000,
    connectTimeoutMs: 2_000,
    reconnectMaxDelayMs: 200,
    pollIntervalMs: 50,
    ...overrides,
  });
}

async function open(cfg: StoreConfig = config()): Promise<RemoteStore & AsyncDisposable> {
  const store = await openUpstashStore({ url: bridge.url, token: bridge.token, config: cfg });
  return Object.assign(store, { [Symbol.asyncDispose]: () => store.close() });
}

storeContract("upstash store", () => open());
scanWithoutEmbeddingContract("upstash store", () => open());
blobContract("upstash store", () => open());

Deno.test("upstash bridge: speaks the REST protocol @upstash/redis expects (single, pipeline, multi-exec, auth)", async () => {
  const client = new Redis({ url: bridge.url, token: bridge.token, enableTelemetry: false, retry: false });
  await client.set("bridge:k", { hello: "wörld" });
  assert.deepEqual(await client.get("bridge:k"), { hello: "wörld" });
  const p = client.pipeline();
  p.set("bridge:n", 1);
  p.incr("bridge:n");
  p.get("bridge:missing");
  assert.deepEqual(await p.exec(), ["OK", 2, null]);
  const tx = client.multi();
  tx.incr("bridge:n");
  tx.lrange("bridge:nolist", 0, -1);
  assert.deepEqual(await tx.exec(), [3, []]);
  await assert.rejects(client.incr("bridge:k"), /not an integer/);
  const stranger = new Redis({ url: bridge.url, token: "wrong-token", enableTelemetry: false, retry: false });
  await assert.rejects(stranger.get("bridge:k"), /Unauthorized/);
  assert.ok((bridge.requests["/pipeline"] ?? 0) >= 1 && (bridge.requests["/multi-exec"] ?? 0) >= 1);
});

Deno.test("upstash store: replicates by polling, both ways with a node-redis replica on the same Redis", async () => {
  const cfg = config();
  await using a = await open(cfg);
  const b = await openRedisStore({ url: redis.url, config: cfg });
  try {
    const seenByA: StoreChange[] = [];
    const seenByB: StoreChange[] = [];
    a.subscribe((c) => seenByA.push(c));
    b.subscribe((c) => seenByB.push(c));
    const fromA = makeEntry();
    const started = Date.now();
    await a.put(fromA);
    assert.ok(await waitFor(() => seenByB.length === 1, 10_000));
    assert.ok(Date.now() - started < 1_000, "visible to the other replica within 1 s");
    const fromB = makeEntry();
    await b.put(fromB);
    assert.ok(await waitFor(() => seenByA.length === 1, 10_000));
    assert.equal(seenByA[0].op === "put" && seenByA[0].entry.id, fromB.id);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(seenByA.length, 1, "its own writes are not delivered back");
  } finally {
    await b.close();
  }
});

Deno.test("upstash store: Redis behind the bridge stops → degraded and buffered, flushed after it returns", async () => {
  const own = await TestRedis.start();
  await using ownBridge = await startUpstashBridge(own.url);
  const cfg = config();
  const store = await openUpstashStore({ url: ownBridge.url, token: ownBridge.token, config: cfg });
  try {
    await store.put(makeEntry());
    await own.stop();
    const during = Array.from({ length: 10 }, () => makeEntry());
    for (const e of during) await store.put(e);
    assert.equal(store.status().connected, false);
    assert.equal(store.status().buffered, 10);
    await own.restart();
    assert.ok(await waitFor(() => store.status().connected && store.status().buffered === 0, 15_000));
    const ids = (await scanAll(store)).map((e) => e.id).sort();
    assert.deepEqual(ids, during.map((e) => e.id).sort());
  } finally {
    await store.close();
    await own.stop();
  }
});

globalThis.addEventListener("unload", () => {
  bridge.close();
  redis.stop();
});
