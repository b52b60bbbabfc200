/**
 * Configuration of the resilience policies: admission control (load shedding), the per-provider upstream policy
 * (timeout, retry, circuit breaker, bulkhead), the fallback chain, rate limits per tenant and agent, and
 * single-flight deduplication. Every default lets a laptop user run without ever meeting a limit, while a
 * failing upstream is still cut off within seconds. docs/RESILIENCE.md explains each number.
 *
 * @module
 */
import { z } from "zod";
import { booleanSetting, fraction, millis } from "../config_fields.ts";

const count = z.coerce.number().int().min(0);

/** Admission control: bounded in-flight work and a queue whose expected wait must fit the latency budget. */
export const admissionSchema = z.object({
  maxInFlight: z.coerce.number().int().min(1).default(512).describe("requests processed at once"),
  maxQueue: count.default(2048).describe("requests waiting for a slot"),
  maxQueueWaitMs: millis.default(2_000).describe("past this wait a queued request is shed (503)"),
  sloShedding: booleanSetting.default(true)
    .describe("shed at once when the expected queue wait (depth × recent service time / slots) exceeds the budget"),
});

/** The upstream policy of one provider. */
export const providerPolicySchema = z.object({
  timeoutMs: millis.min(1).default(30_000)
    .describe("per attempt: until the whole answer (JSON) or until the upstream accepted the stream"),
  retry: z.object({
    maxRetries: count.max(10).default(2).describe("retries after the first attempt, for retryable failures only"),
    baseDelayMs: millis.default(100).describe("first backoff ceiling; doubles per retry (full jitter below it)"),
    maxDelayMs: millis.default(2_000).describe("backoff ceiling"),
    maxRetryAfterMs: millis.default(5_000)
      .describe("an upstream Retry-After longer than this is not waited for: the call goes to the fallback"),
  }).default({ maxRetries: 2, baseDelayMs: 100, maxDelayMs: 2_000, maxRetryAfterMs: 5_000 }),
  breaker: z.object({
    consecutiveFailures: z.coerce.number().int().min(1).default(5).describe("opens after this many failures in a row"),
    failureRateThreshold: fraction.default(0.5).describe("opens when this share of sampled calls failed"),
    samplingWindowMs: millis.min(1000).default(30_000).describe("window of the failure-rate breaker"),
    minimumRps: z.coerce.number().min(0).default(2)
      .describe("the failure-rate breaker needs this many calls per second in its window before it may open"),
    halfOpenAfterMs: millis.min(1).default(5_000).describe("open → half-open: then one probe call decides"),
    countRateLimited: booleanSetting.default(false)
      .describe("count upstream 429s as breaker failures (off: a 429 is back-pressure, not an outage)"),
  }).default({
    consecutiveFailures: 5,
    failureRateThreshold: 0.5,
    samplingWindowMs: 30_000,
    minimumRps: 2,
    halfOpenAfterMs: 5_000,
    countRateLimited: false,
  }),
  bulkhead: z.object({
    maxConcurrent: z.coerce.number().int().min(1).default(256).describe("upstream calls in flight per provider"),
    maxQueue: count.default(256).describe("calls waiting for a bulkhead slot"),
    maxQueueWaitMs: millis.default(1_000).describe("a call waiting longer is rejected (and goes to the fallback)"),
  }).default({ maxConcurrent: 256, maxQueue: 256, maxQueueWaitMs: 1_000 }),
});

/** Settings of one provider's upstream policy. */
export type ProviderPolicyConfig = z.infer<typeof providerPolicySchema>;

/** Requests and tokens per minute; 0 means unlimited. */
export const limitSchema = z.object({
  requestsPerMinute: count.optional().describe("requests per minute (0: unlimited)"),
  tokensPerMinute: count.optional().describe("estimated tokens per minute (0: unlimited)"),
});

/** Rate limits per tenant and per agent. */
export const rateLimitsSchema = z.object({
  enabled: booleanSetting.default(true).describe("AMAS_RATE_LIMITS_ENABLED"),
  tenant: z.object({ requestsPerMinute: count.default(6_000), tokensPerMinute: count.default(10_000_000) })
    .default({ requestsPerMinute: 6_000, tokensPerMinute: 10_000_000 }).describe("default limit of every tenant"),
  agent: z.object({ requestsPerMinute: count.default(3_000), tokensPerMinute: count.default(5_000_000) })
    .default({ requestsPerMinute: 3_000, tokensPerMinute: 5_000_000 }).describe("default limit of every agent"),
  tenants: z.record(z.string().min(1), limitSchema).default({}).describe("limits of named tenants"),
  agents: z.record(z.string().min(1), limitSchema).default({})
    .describe('limits of named agents: "<tenant>/<agent>", or "<agent>" for that agent in every tenant'),
  defaultCompletionTokens: z.coerce.number().int().min(0).default(256)
    .describe("completion tokens assumed when a request sets no max_tokens"),
  redisTimeoutMs: millis.min(1).default(200)
    .describe("a Redis answer slower than this falls back to the local limiter for that request"),
});

/** The validated rate-limit settings. */
export type RateLimitsConfig = z.infer<typeof rateLimitsSchema>;

/** The `resilience` configuration section. */
export const resilienceConfigSchema = z.object({
  admission: admissionSchema.default(() => admissionSchema.parse({})),
  upstream: providerPolicySchema.default(() => providerPolicySchema.parse({}))
    .describe("the policy of every provider"),
  providers: z.record(z.string().min(1), z.record(z.string(), z.unknown())).default({})
    .describe("per-provider overrides of the upstream policy, merged over `upstream` field by field"),
  fallbacks: z.record(z.string().min(1), z.array(z.string().min(1))).default({})
    .describe("model → models tried in order when its provider fails (when the router offers one route)"),
  serveStale: booleanSetting.default(true).describe("serve a stale cache entry when every upstream failed"),
  rateLimits: rateLimitsSchema.default(() => rateLimitsSchema.parse({})),
  dedup: booleanSetting.default(true).describe("AMAS_DEDUP: identical in-flight requests share one upstream call"),
}).superRefine((c, ctx) => {
  for (const [name, override] of Object.entries(c.providers)) {
    const merged = providerPolicySchema.safeParse(mergeDeep(c.upstream, override));
    if (!merged.success) {
      const issue = merged.error.issues[0];
      ctx.addIssue({ code: "custom", path: ["providers", name, ...issue.path], message: issue.message });
    }
  }
});

/** The policy of a provider: the `upstream` default with that provider's overrides merged over it. */
export function policyFor(config: ResilienceConfig, provider: string): ProviderPolicyConfig {
  const override = config.providers[provider];
  return override ? providerPolicySchema.parse(mergeDeep(config.upstream, override)) : config.upstream;
}

function mergeDeep(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = mergeDeep(base[k], v);
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The validated `resilience` section. */
export type ResilienceConfig = z.infer<typeof resilienceConfigSchema>;
