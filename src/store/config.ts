/**
 * Configuration of the cache store: which backend keeps entries beyond one process (chosen by `REDIS_URL` /
 * `UPSTASH_REDIS_REST_URL` at the top level, else the embedded memory store) and the bounds of each.
 *
 * @module
 */
import { z } from "zod";
import { millis } from "../config_fields.ts";

/** The `store` configuration section. */
export const storeConfigSchema = z.object({
  keyPrefix: z.string().min(1).default("amas:cache:")
    .describe("AMAS_STORE_KEY_PREFIX: prefix of every Redis key the store writes"),
  // A put's message carries the whole entry (~4 KB with a 512-d embedding): 10k messages ≈ 40 MB of Redis memory.
  // A replica away for longer than that many writes rescans instead of replaying.
  streamMaxLen: z.coerce.number().int().min(100).default(10_000)
    .describe("AMAS_STORE_STREAM_MAXLEN: approximate bound of the replication stream (XADD MAXLEN ~)"),
  maxBufferedWrites: z.coerce.number().int().min(0).default(10_000)
    .describe("AMAS_STORE_MAX_BUFFERED_WRITES: writes kept while Redis is unreachable; the oldest are dropped"),
  commandTimeoutMs: millis.min(10).default(1_000)
    .describe("AMAS_STORE_COMMAND_TIMEOUT_MS: a Redis command slower than this counts as a failure"),
  connectTimeoutMs: millis.min(10).default(2_000).describe("AMAS_STORE_CONNECT_TIMEOUT_MS: TCP/TLS connect timeout"),
  reconnectMaxDelayMs: millis.min(10).default(5_000)
    .describe("AMAS_STORE_RECONNECT_MAX_DELAY_MS: cap of the exponential reconnect backoff"),
  pollIntervalMs: millis.min(10).default(250)
    .describe("AMAS_STORE_POLL_INTERVAL_MS: how often the Upstash store polls the stream (no blocking reads)"),
  blockMs: millis.min(10).default(1_000).describe("how long one XREAD BLOCK waits before it is issued again"),
  scanBatch: z.coerce.number().int().min(10).max(10_000).default(1_000)
    .describe("keys read per SCAN/MGET round trip while warming"),
  maxEntries: z.coerce.number().int().min(0).default(500_000)
    .describe("AMAS_STORE_MAX_ENTRIES: memory store bound, oldest evicted first (0 = unbounded)"),
  sweepIntervalMs: millis.min(100).default(30_000).describe("how often the memory store drops expired entries"),
  snapshotIntervalMs: millis.default(60_000)
    .describe(
      "AMAS_STORE_SNAPSHOT_INTERVAL_MS: memory store snapshot period when AMAS_DATA_DIR is set (0 = on close only)",
    ),
});

/** The validated `store` section. */
export type StoreConfig = z.infer<typeof storeConfigSchema>;
