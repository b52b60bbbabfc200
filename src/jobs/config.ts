/**
 * Configuration of asynchronous jobs: the Redis Stream and consumer group the gateway enqueues to and the workers
 * read from, the worker pools (one stream each), and the timings of delivery, reclaim and result retention.
 *
 * The names here are the contract with the worker ScaledObjects in `k8s/` (docs/JOBS.md): the general stream
 * `amas:jobs`, the consumer group `amas-workers`, and the `research_agent` pool on `amas:jobs:research_agent`.
 *
 * @module
 */
import { z } from "zod";
import { millis } from "../config_fields.ts";

const streamName = z.string().regex(/^[A-Za-z0-9_:.-]{1,128}$/, "stream names use letters, digits and _:.-");
const poolName = z.string().regex(/^[a-z0-9_-]{1,64}$/, "pool names use lower-case letters, digits, _ and -");

/** The default worker pools: pool name → stream. */
export const DEFAULT_POOLS: Record<string, string> = { research_agent: "amas:jobs:research_agent" };

/** The `jobs` configuration section. */
export const jobsConfigSchema = z.object({
  resultTtlSeconds: z.coerce.number().int().positive().default(86_400)
    .describe("AMAS_JOBS_RESULT_TTL_SECONDS: how long a job and its result stay readable"),
  stream: streamName.default("amas:jobs").describe("AMAS_JOBS_STREAM: the stream of the general pool"),
  group: z.string().regex(/^[A-Za-z0-9_:.-]{1,128}$/).default("amas-workers")
    .describe("AMAS_JOBS_GROUP: the consumer group every worker joins"),
  pools: z.record(poolName, streamName).default(() => ({ ...DEFAULT_POOLS }))
    .describe("named worker pools, each on its own stream; a job goes to the pool it names or its agent's pool"),
  embeddedWorkers: z.coerce.number().int().min(0).max(256).default(4)
    .describe("AMAS_JOBS_EMBEDDED_WORKERS: in-process workers per pool when REDIS_URL is not set"),
  workerConcurrency: z.coerce.number().int().min(1).max(256).default(4)
    .describe("AMAS_WORKER_CONCURRENCY: jobs one `deno task worker` process runs at once"),
  claimIdleMs: millis.min(1000).default(60_000)
    .describe("AMAS_JOBS_CLAIM_IDLE_MS: a delivered job idle this long (its worker died) is reclaimed"),
  heartbeatMs: millis.min(100).default(15_000)
    .describe("AMAS_JOBS_HEARTBEAT_MS: a live worker touches its running jobs this often (less than claimIdleMs)"),
  blockMs: millis.min(10).default(2000).describe("how long a worker's XREADGROUP waits for new jobs"),
  maxAttempts: z.coerce.number().int().min(1).max(100).default(3)
    .describe("AMAS_JOBS_MAX_ATTEMPTS: deliveries before a job whose workers keep dying is failed"),
  jobTimeoutMs: millis.min(1000).default(300_000).describe("AMAS_JOBS_TIMEOUT_MS: one job's time limit"),
  workerPort: z.coerce.number().int().min(0).max(65535).default(8001)
    .describe("AMAS_WORKER_PORT: where `deno task worker` serves /metrics, /healthz and /readyz (0 = any free port)"),
  maxQueued: z.coerce.number().int().min(1).default(100_000)
    .describe("AMAS_JOBS_MAX_QUEUED: backlog per stream above which POST /v1/jobs answers 503"),
}).refine((c) => c.heartbeatMs < c.claimIdleMs, {
  message: "heartbeatMs must be shorter than claimIdleMs, or live workers' jobs would be reclaimed",
  path: ["heartbeatMs"],
});

/** The validated `jobs` section. */
export type JobsConfig = z.infer<typeof jobsConfigSchema>;

/** The pool a job goes to: the one it names, else the pool named like its agent, else the general pool. */
export function poolOf(config: JobsConfig, requested: string | undefined, agentId: string): string {
  if (requested !== undefined) return requested;
  return agentId in config.pools ? agentId : "general";
}

/** The stream of a pool (`general` is the main stream). */
export function streamOf(config: JobsConfig, pool: string): string | undefined {
  if (pool === "general") return config.stream;
  return config.pools[pool];
}

/** Every pool with its stream, the general pool first. */
export function allStreams(config: JobsConfig): { pool: string; stream: string }[] {
  return [
    { pool: "general", stream: config.stream },
    ...Object.entries(config.pools).map(([pool, stream]) => ({
      pool,
      stream,
    })),
  ];
}
