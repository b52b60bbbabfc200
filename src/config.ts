/**
 * The gateway's configuration: one zod schema, read from an optional JSON config file (`AMAS_CONFIG`) and the
 * environment (which wins). Every setting has a default that runs on a laptop with nothing configured; an invalid
 * value stops start-up with one line naming the setting and what it allows.
 *
 * Feature sections (cache, resilience, cost, routing, jobs) own their sub-schemas in their folders; this file
 * composes them and maps the environment names of API.md onto them.
 *
 * @module
 */
import { z } from "zod";
import { booleanSetting } from "./config_fields.ts";
import { cacheConfigSchema } from "./cache/config.ts";
import { resilienceConfigSchema } from "./resilience/config.ts";
import { costConfigSchema } from "./cost/config.ts";
import { jobsConfigSchema } from "./jobs/config.ts";
import { scalingConfigSchema } from "./scaling/config.ts";
import { providersConfigSchema } from "./providers/config.ts";
import { storeConfigSchema } from "./store/config.ts";
import { checkRoutingDeployments, routingConfigSchema } from "./routing/config.ts";

const port = z.coerce.number().int().min(0).max(65535);

/** The whole configuration schema. */
export const configSchema = z.object({
  host: z.string().min(1).default("127.0.0.1").describe("AMAS_HOST: address to listen on"),
  port: port.default(8000).describe("AMAS_PORT: HTTP port (0 picks a free one)"),
  metricsPort: port.optional().describe("AMAS_METRICS_PORT: serve /metrics on this port instead"),
  redisUrl: z.string().regex(/^rediss?:\/\//, "must start with redis:// or rediss://").optional()
    .describe("REDIS_URL: shared store for cache, limits, costs and jobs"),
  upstashUrl: z.url().optional().describe("UPSTASH_REDIS_REST_URL"),
  upstashToken: z.string().min(1).optional().describe("UPSTASH_REDIS_REST_TOKEN"),
  apiKeys: z.record(z.string().min(1), z.string().min(8, "keys need at least 8 characters")).default({})
    .describe("AMAS_API_KEYS: tenant=key pairs; none means loopback-only, single tenant 'local'"),
  adminToken: z.string().min(8, "needs at least 8 characters").optional().describe("AMAS_ADMIN_TOKEN"),
  maxBodyBytes: z.coerce.number().int().min(1024).default(2 * 1024 * 1024)
    .describe("AMAS_MAX_BODY_BYTES: request body limit (413 above)"),
  shutdownGraceMs: z.coerce.number().int().min(0).default(25_000)
    .describe("AMAS_SHUTDOWN_GRACE_MS: how long SIGTERM waits for in-flight requests"),
  logLevel: z.enum(["debug", "info", "warn", "error"]).default("info").describe("AMAS_LOG_LEVEL"),
  logBodies: booleanSetting.default(false).describe("AMAS_LOG_BODIES: log prompt/response text (off)"),
  otlpEndpoint: z.url().optional().describe("OTEL_EXPORTER_OTLP_ENDPOINT: export traces over OTLP/HTTP"),
  serviceName: z.string().default("amas-gateway").describe("OTEL_SERVICE_NAME"),
  dataDir: z.string().optional().describe("AMAS_DATA_DIR: snapshots of the embedded store and index"),
  providers: providersConfigSchema.default(providersConfigSchema.parse({})),
  cache: cacheConfigSchema.default(cacheConfigSchema.parse({})),
  store: storeConfigSchema.default(storeConfigSchema.parse({})),
  resilience: resilienceConfigSchema.default(resilienceConfigSchema.parse({})),
  cost: costConfigSchema.default(costConfigSchema.parse({})),
  jobs: jobsConfigSchema.default(jobsConfigSchema.parse({})),
  scaling: scalingConfigSchema.default(scalingConfigSchema.parse({})),
  routing: routingConfigSchema,
}).superRefine((c, ctx) => {
  if (Object.keys(c.apiKeys).length === 0 && !isLoopback(c.host)) {
    ctx.addIssue({
      code: "custom",
      path: ["host"],
      message: `no API keys configured, so the gateway only listens on a loopback address (got ${c.host}); ` +
        "set AMAS_API_KEYS=tenant=key,… or AMAS_HOST=127.0.0.1",
    });
  }
  if ((c.upstashUrl === undefined) !== (c.upstashToken === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: ["upstashToken"],
      message: "UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN go together",
    });
  }
  checkRoutingDeployments(c.routing, c.providers.deployments, (path, message) => {
    ctx.addIssue({ code: "custom", path, message });
  });
  const keys = Object.values(c.apiKeys);
  if (new Set(keys).size !== keys.length) {
    ctx.addIssue({ code: "custom", path: ["apiKeys"], message: "two tenants share one API key" });
  }
});

/** The validated configuration. */
export type Config = z.infer<typeof configSchema>;

/** A configuration problem, reported as one line before start-up stops. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Whether an address is a loopback address. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Where each environment variable lands in the configuration object. */
const ENV_PATHS: Record<string, string[]> = {
  AMAS_HOST: ["host"],
  AMAS_PORT: ["port"],
  AMAS_METRICS_PORT: ["metricsPort"],
  REDIS_URL: ["redisUrl"],
  UPSTASH_REDIS_REST_URL: ["upstashUrl"],
  UPSTASH_REDIS_REST_TOKEN: ["upstashToken"],
  AMAS_API_KEYS: ["apiKeys"],
  AMAS_ADMIN_TOKEN: ["adminToken"],
  AMAS_MAX_BODY_BYTES: ["maxBodyBytes"],
  AMAS_SHUTDOWN_GRACE_MS: ["shutdownGraceMs"],
  AMAS_LOG_LEVEL: ["logLevel"],
  AMAS_LOG_BODIES: ["logBodies"],
  AMAS_DATA_DIR: ["dataDir"],
  OTEL_EXPORTER_OTLP_ENDPOINT: ["otlpEndpoint"],
  OTEL_SERVICE_NAME: ["serviceName"],
  OPENAI_API_KEY: ["providers", "openai", "apiKey"],
  OPENAI_BASE_URL: ["providers", "openai", "baseUrl"],
  AMAS_EMBEDDER: ["cache", "embedder"],
  AMAS_SIMILARITY_THRESHOLD: ["cache", "similarityThreshold"],
  AMAS_CACHE_ENABLED: ["cache", "enabled"],
  AMAS_CACHE_VERIFY: ["cache", "verify"],
  AMAS_CACHE_TTL_SECONDS: ["cache", "ttlSeconds"],
  AMAS_CACHE_MAX_TEMPERATURE: ["cache", "maxTemperature"],
  AMAS_CACHE_MAX_ENTRIES: ["cache", "maxEntries"],
  AMAS_CACHE_STALE_SECONDS: ["cache", "staleSeconds"],
  AMAS_EMBED_WORKERS: ["cache", "embedWorkers"],
  AMAS_CACHE_SEMANTIC_TIMEOUT_MS: ["cache", "semanticTimeoutMs"],
  AMAS_CACHE_JOIN_IN_FLIGHT: ["cache", "joinInFlight"],
  AMAS_CACHE_JOIN_WAIT_MS: ["cache", "joinWaitMs"],
  AMAS_CACHE_SHARED_SNAPSHOT: ["cache", "sharedSnapshot"],
  AMAS_CACHE_SNAPSHOT_INTERVAL_MS: ["cache", "snapshotIntervalMs"],
  AMAS_CACHE_SNAPSHOT_MIN_CHANGES: ["cache", "snapshotMinChanges"],
  AMAS_EMBEDDINGS_BASE_URL: ["cache", "openai", "baseUrl"],
  AMAS_EMBEDDINGS_API_KEY: ["cache", "openai", "apiKey"],
  AMAS_EMBEDDINGS_MODEL: ["cache", "openai", "model"],
  AMAS_EMBEDDINGS_DIMENSION: ["cache", "openai", "dimension"],
  AMAS_STORE_KEY_PREFIX: ["store", "keyPrefix"],
  AMAS_STORE_STREAM_MAXLEN: ["store", "streamMaxLen"],
  AMAS_STORE_MAX_BUFFERED_WRITES: ["store", "maxBufferedWrites"],
  AMAS_STORE_COMMAND_TIMEOUT_MS: ["store", "commandTimeoutMs"],
  AMAS_STORE_CONNECT_TIMEOUT_MS: ["store", "connectTimeoutMs"],
  AMAS_STORE_RECONNECT_MAX_DELAY_MS: ["store", "reconnectMaxDelayMs"],
  AMAS_STORE_POLL_INTERVAL_MS: ["store", "pollIntervalMs"],
  AMAS_STORE_MAX_ENTRIES: ["store", "maxEntries"],
  AMAS_STORE_SNAPSHOT_INTERVAL_MS: ["store", "snapshotIntervalMs"],
  AMAS_COST_ENABLED: ["cost", "enabled"],
  AMAS_COST_FLUSH_MS: ["cost", "flushMs"],
  AMAS_JOBS_RESULT_TTL_SECONDS: ["jobs", "resultTtlSeconds"],
  AMAS_JOBS_STREAM: ["jobs", "stream"],
  AMAS_JOBS_GROUP: ["jobs", "group"],
  AMAS_JOBS_EMBEDDED_WORKERS: ["jobs", "embeddedWorkers"],
  AMAS_WORKER_CONCURRENCY: ["jobs", "workerConcurrency"],
  AMAS_WORKER_PORT: ["jobs", "workerPort"],
  AMAS_JOBS_CLAIM_IDLE_MS: ["jobs", "claimIdleMs"],
  AMAS_JOBS_HEARTBEAT_MS: ["jobs", "heartbeatMs"],
  AMAS_JOBS_MAX_ATTEMPTS: ["jobs", "maxAttempts"],
  AMAS_JOBS_TIMEOUT_MS: ["jobs", "jobTimeoutMs"],
  AMAS_JOBS_MAX_QUEUED: ["jobs", "maxQueued"],
  AMAS_SCALING_WATCH: ["scaling", "watch"],
  AMAS_SCALING_DEPLOYMENTS: ["scaling", "deployments"],
  AMAS_SCALING_SELF: ["scaling", "self"],
  AMAS_SCALING_INTERVAL_MS: ["scaling", "intervalMs"],
  AMAS_SCALING_RPS_METRIC: ["scaling", "rpsMetric"],
  KUBERNETES_SERVICE_HOST: ["scaling", "kubernetesHost"],
  KUBERNETES_SERVICE_PORT: ["scaling", "kubernetesPort"],
  POD_NAMESPACE: ["scaling", "namespace"],
  POD_NAME: ["scaling", "podName"],
  AMAS_ROUTING_EWMA_DECAY_MS: ["routing", "ewmaDecayMs"],
  AMAS_ROUTING_SLOW_START_MS: ["routing", "slowStartMs"],
  AMAS_MAX_IN_FLIGHT: ["resilience", "admission", "maxInFlight"],
  AMAS_MAX_QUEUE: ["resilience", "admission", "maxQueue"],
  AMAS_MAX_QUEUE_WAIT_MS: ["resilience", "admission", "maxQueueWaitMs"],
  AMAS_SLO_SHEDDING: ["resilience", "admission", "sloShedding"],
  AMAS_UPSTREAM_TIMEOUT_MS: ["resilience", "upstream", "timeoutMs"],
  AMAS_UPSTREAM_MAX_RETRIES: ["resilience", "upstream", "retry", "maxRetries"],
  AMAS_BREAKER_FAILURES: ["resilience", "upstream", "breaker", "consecutiveFailures"],
  AMAS_BREAKER_HALF_OPEN_AFTER_MS: ["resilience", "upstream", "breaker", "halfOpenAfterMs"],
  AMAS_BULKHEAD_MAX_CONCURRENT: ["resilience", "upstream", "bulkhead", "maxConcurrent"],
  AMAS_SERVE_STALE: ["resilience", "serveStale"],
  AMAS_DEDUP: ["resilience", "dedup"],
  AMAS_RATE_LIMITS_ENABLED: ["resilience", "rateLimits", "enabled"],
  AMAS_TENANT_RPM: ["resilience", "rateLimits", "tenant", "requestsPerMinute"],
  AMAS_TENANT_TPM: ["resilience", "rateLimits", "tenant", "tokensPerMinute"],
  AMAS_AGENT_RPM: ["resilience", "rateLimits", "agent", "requestsPerMinute"],
  AMAS_AGENT_TPM: ["resilience", "rateLimits", "agent", "tokensPerMinute"],
};

/** Parses `tenant=key,tenant2=key2`. */
function parseApiKeys(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of raw.split(",").map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0 || eq === part.length - 1) {
      throw new ConfigError(`AMAS_API_KEYS: expected tenant=key pairs separated by commas, got "${part.slice(0, 20)}"`);
    }
    const tenant = part.slice(0, eq).trim();
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(tenant)) {
      throw new ConfigError(`AMAS_API_KEYS: tenant "${tenant}" may only use letters, digits, '_', '.', '-'`);
    }
    if (tenant in out) throw new ConfigError(`AMAS_API_KEYS: tenant "${tenant}" is listed twice`);
    out[tenant] = part.slice(eq + 1).trim();
  }
  return out;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== "object" || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
}

/** Options for {@linkcode loadConfig}. */
export interface LoadConfigOptions {
  /** Environment to read (defaults to the process environment). */
  env?: Record<string, string | undefined>;
  /** Settings applied last, over file and environment (tests, embedding). */
  overrides?: Record<string, unknown>;
}

/**
 * Builds the configuration from the config file named by `AMAS_CONFIG`, then the environment, then overrides.
 * Throws {@linkcode ConfigError} with a one-line message naming the setting when anything is invalid.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? Deno.env.toObject();
  let raw: Record<string, unknown> = {};
  const file = env.AMAS_CONFIG;
  if (file) {
    let text: string;
    try {
      text = Deno.readTextFileSync(file);
    } catch (err) {
      throw new ConfigError(`AMAS_CONFIG: cannot read ${file}: ${(err as Error).message}`);
    }
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`AMAS_CONFIG: ${file} is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw new ConfigError(`AMAS_CONFIG: ${file} must hold a JSON object`);
    }
  }
  for (const [name, path] of Object.entries(ENV_PATHS)) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    setPath(raw, path, name === "AMAS_API_KEYS" ? parseApiKeys(value) : value);
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) raw[key] = value;
  return parseConfig(raw);
}

/** Validates a configuration object; throws {@linkcode ConfigError} naming the first bad setting. */
export function parseConfig(raw: unknown): Config {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue.path.join(".") || "(config)";
  const envName = Object.entries(ENV_PATHS).find(([, p]) => p.join(".") === path)?.[0];
  const where = envName ? `${envName} (${path})` : path;
  throw new ConfigError(`invalid configuration: ${where}: ${issue.message}`);
}
