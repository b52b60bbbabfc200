/**
 * Configuration of the response cache.
 *
 * @module
 */
import { z } from "zod";
import { booleanSetting, fraction, millis } from "../config_fields.ts";

/** Per-agent cache settings; anything unset falls back to the section defaults. */
export const agentCacheSchema = z.object({
  enabled: booleanSetting.optional().describe("cache this agent's answers"),
  similarityThreshold: fraction.optional().describe("cosine similarity a semantic hit needs"),
  ttlSeconds: z.coerce.number().int().positive().optional().describe("how long an answer may be served"),
  maxTemperature: z.coerce.number().min(0).max(2).optional()
    .describe("requests with a higher temperature are neither served from nor stored in the cache"),
});

/** Settings of the OpenAI-compatible embeddings endpoint (`embedder: openai`). */
export const openAiEmbedderSchema = z.object({
  baseUrl: z.url().optional().describe("AMAS_EMBEDDINGS_BASE_URL: …/v1 of the endpoint (default: OPENAI_BASE_URL)"),
  apiKey: z.string().min(1).optional().describe("AMAS_EMBEDDINGS_API_KEY (default: OPENAI_API_KEY)"),
  model: z.string().min(1).default("text-embedding-3-small").describe("AMAS_EMBEDDINGS_MODEL"),
  dimension: z.coerce.number().int().min(2).default(1536).describe("AMAS_EMBEDDINGS_DIMENSION: vector length"),
  timeoutMs: millis.min(100).default(10_000).describe("per-request timeout"),
});

/** The `cache` configuration section. */
export const cacheConfigSchema = z.object({
  enabled: booleanSetting.default(true).describe("AMAS_CACHE_ENABLED: the response cache as a whole"),
  embedder: z.enum(["use-lite", "openai", "hash"]).default("use-lite")
    .describe("AMAS_EMBEDDER: use-lite (offline default), openai (/v1/embeddings), hash (tests only)"),
  similarityThreshold: fraction.default(0.85).describe("AMAS_SIMILARITY_THRESHOLD: cosine similarity for a hit"),
  verify: booleanSetting.default(true)
    .describe("AMAS_CACHE_VERIFY: check semantic candidates (numbers, names, negation, …) before serving"),
  ttlSeconds: z.coerce.number().int().positive().default(86_400).describe("AMAS_CACHE_TTL_SECONDS"),
  maxTemperature: z.coerce.number().min(0).max(2).default(1)
    .describe("AMAS_CACHE_MAX_TEMPERATURE: above it a request is not cached"),
  maxEntries: z.coerce.number().int().min(1).default(100_000)
    .describe("AMAS_CACHE_MAX_ENTRIES: entries held; the least recently used are evicted"),
  candidates: z.coerce.number().int().min(1).max(32).default(4)
    .describe("nearest neighbours checked (above the threshold) per semantic lookup"),
  semanticTimeoutMs: millis.min(1).default(50)
    .describe("AMAS_CACHE_SEMANTIC_TIMEOUT_MS: a semantic lookup waits this long for its embedding, then misses"),
  joinInFlight: booleanSetting.default(true).describe(
    "AMAS_CACHE_JOIN_IN_FLIGHT: a miss whose prompt the verifier matches with a call in flight upstream (same scope) waits for that call's answer",
  ),
  // A follower's leader started first, so its answer usually comes sooner than the follower's own would. Past this
  // wait the follower goes upstream itself and serves whichever answer comes first: it never waits longer than
  // this plus its own upstream call.
  joinWaitMs: millis.min(1).default(10_000).describe(
    "AMAS_CACHE_JOIN_WAIT_MS: how long a call waits for a matching call in flight before it goes upstream itself",
  ),
  embedWorkers: z.coerce.number().int().min(1).max(16).default(1)
    .describe("AMAS_EMBED_WORKERS: Web Workers running the use-lite model (each ~100 MB)"),
  embedBatch: z.coerce.number().int().min(1).max(256).default(32).describe("texts per embedding batch at most"),
  staleSeconds: z.coerce.number().int().min(0).default(3600)
    .describe("AMAS_CACHE_STALE_SECONDS: how long an expired entry may still answer when every upstream fails"),
  sweepIntervalMs: millis.min(100).default(60_000).describe("how often expired entries leave the index"),
  sharedSnapshot: booleanSetting.default(true).describe(
    "AMAS_CACHE_SHARED_SNAPSHOT: replicas share a snapshot of the vector index through Redis/Upstash, so a new one loads graphs instead of building them",
  ),
  // Every replica checks this often; the one that finds the shared snapshot older than this and its index changed
  // enough publishes (one at a time, under a lock). A publish of 100k 512-d vectors moves ~300 MB to Redis.
  snapshotIntervalMs: millis.min(1_000).default(600_000).describe(
    "AMAS_CACHE_SNAPSHOT_INTERVAL_MS: the shared index snapshot is republished when older than this (and changed)",
  ),
  snapshotMinChanges: z.coerce.number().int().min(1).default(1_000).describe(
    "AMAS_CACHE_SNAPSHOT_MIN_CHANGES: index adds/removes since the shared snapshot that make a new one worth publishing",
  ),
  openai: openAiEmbedderSchema.default(() => openAiEmbedderSchema.parse({})),
  agents: z.record(z.string().min(1), agentCacheSchema).default({})
    .describe('per-agent overrides: { "<agent id>": { enabled, similarityThreshold, ttlSeconds, maxTemperature } }'),
});

/** The validated `cache` section. */
export type CacheConfig = z.infer<typeof cacheConfigSchema>;
