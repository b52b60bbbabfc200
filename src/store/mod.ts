/**
 * The cache store chosen by configuration: Redis when `REDIS_URL` is set, else Upstash REST when
 * `UPSTASH_REDIS_REST_URL` + `UPSTASH_REDIS_REST_TOKEN` are set, else the embedded memory store (snapshotting to
 * `AMAS_DATA_DIR` when set). See docs/STORES.md.
 *
 * @module
 */
import type { Meter } from "@opentelemetry/api";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { ReadinessCheck } from "../http/routes/health.ts";
import { MemoryStore } from "./memory_store.ts";
import { openRedisStore } from "./redis_store.ts";
import { openUpstashStore } from "./upstash_store.ts";
import type { Store } from "./types.ts";

export type { BlobStore, CacheEntry, ScanOptions, Store, StoreChange, StoreStatus } from "./types.ts";
export { MemoryStore } from "./memory_store.ts";
export { RemoteStore } from "./remote_store.ts";
export { openRedisStore } from "./redis_store.ts";
export { openUpstashStore } from "./upstash_store.ts";

/** What {@linkcode createStore} needs besides the configuration. */
export interface StoreDeps {
  logger?: Logger;
  meter?: Meter;
}

/**
 * Opens the configured store. It never fails because Redis is unreachable: a remote store then starts degraded
 * and connects in the background.
 */
export async function createStore(
  config: Pick<Config, "redisUrl" | "upstashUrl" | "upstashToken" | "dataDir" | "store">,
  deps: StoreDeps = {},
): Promise<Store> {
  const options = { config: config.store, logger: deps.logger, meter: deps.meter };
  let store: Store;
  if (config.redisUrl) {
    store = await openRedisStore({ url: config.redisUrl, ...options });
  } else if (config.upstashUrl && config.upstashToken) {
    store = await openUpstashStore({ url: config.upstashUrl, token: config.upstashToken, ...options });
  } else {
    store = await MemoryStore.open({
      dataDir: config.dataDir,
      maxEntries: config.store.maxEntries,
      sweepIntervalMs: config.store.sweepIntervalMs,
      snapshotIntervalMs: config.store.snapshotIntervalMs,
      logger: deps.logger?.child({ component: "store", store: "memory" }),
    });
  }
  const s = store.status();
  deps.logger?.info("cache store opened", { store: s.kind, connected: s.connected });
  return store;
}

/**
 * The store's readiness check. A degraded store still serves (from memory, buffering writes), so it counts as
 * ready: "store reachable or degraded-but-serving"; the detail says which.
 */
export function storeReadinessCheck(store: Store): ReadinessCheck {
  return {
    name: "store",
    check() {
      const s = store.status();
      if (s.connected) return { ready: true, detail: `${s.kind}: connected` };
      return {
        ready: true,
        detail: `${s.kind}: degraded, serving from memory (${s.buffered} writes buffered, ${s.dropped} dropped)`,
      };
    },
  };
}
