/**
 * Per-operation cost of each store: `put` (entry + indexes + stream in one Lua script for Redis/Upstash) and
 * `get`, with the memory store as the baseline. Redis and the Upstash REST bridge run on a redis-server of this
 * benchmark's own. `deno bench -A bench/store_bench.ts`
 *
 * @module
 */
import { storeConfigSchema } from "../src/store/config.ts";
import { MemoryStore } from "../src/store/memory_store.ts";
import { openRedisStore } from "../src/store/redis_store.ts";
import { openUpstashStore } from "../src/store/upstash_store.ts";
import type { CacheEntry, Store } from "../src/store/types.ts";
import { TestRedis } from "../tests/support/redis.ts";
import { startUpstashBridge } from "../tests/support/upstash_bridge.ts";

const redis = await TestRedis.start();
const bridge = await startUpstashBridge(redis.url);
const config = storeConfigSchema.parse({ commandTimeoutMs: 5_000 });
const stores: Record<string, Store> = {
  memory: await MemoryStore.open(),
  redis: await openRedisStore({ url: redis.url, config }),
  upstash: await openUpstashStore({ url: bridge.url, token: bridge.token, config: { ...config, keyPrefix: "u:" } }),
};

const embedding = Array.from({ length: 512 }, (_, i) => Math.fround(Math.sin(i)));
let n = 0;
function entry(): CacheEntry {
  const now = Date.now();
  return {
    id: `b${++n}`,
    tenant: "bench",
    agentId: "agent",
    scopeKey: "scope",
    exactKey: `x${n}`,
    semanticText: "How do I configure the feature for my team?",
    embedding,
    embedder: "use-lite/512",
    response: {
      id: `chatcmpl-${n}`,
      object: "chat.completion",
      created: Math.floor(now / 1000),
      model: "sim-small",
      choices: [{
        index: 0,
        message: { role: "assistant", content: "Open the settings page." },
        finish_reason: "stop",
      }],
    } as CacheEntry["response"],
    costUsd: 0.00002,
    createdAt: now,
    expiresAt: now + 600_000,
  };
}

const known = entry();
for (const store of Object.values(stores)) await store.put(known);

/** A degraded store answers from memory in microseconds: such a figure would be a lie, so the bench fails. */
function connected(name: string, store: Store): void {
  const s = store.status();
  if (!s.connected || s.buffered) {
    throw new Error(`${name} store degraded during the benchmark; rerun on a quieter machine`);
  }
}

for (const [name, store] of Object.entries(stores)) {
  Deno.bench({
    name: `put ${name}`,
    group: "put (512-d entry)",
    baseline: name === "memory",
    fn: async () => {
      await store.put(entry());
      connected(name, store);
    },
  });
  Deno.bench({
    name: `get ${name}`,
    group: "get by id",
    baseline: name === "memory",
    fn: async () => {
      if (!(await store.get(known.id))) throw new Error(`${name} store lost the entry`);
      connected(name, store);
    },
  });
}

globalThis.addEventListener("unload", () => {
  for (const store of Object.values(stores)) store.close();
  bridge.close();
  redis.stop();
});
