/**
 * Configuration of cost accounting: price overrides, budgets, aggregation storage, the inputs of the
 * recommendation rules (thresholds, cheaper models, scaling target, container requests and their prices).
 *
 * @module
 */
import { z } from "zod";
import { booleanSetting, fraction } from "../config_fields.ts";

/** Price of one model in USD per million tokens. */
export const priceSchema = z.object({
  inputPerMTok: z.coerce.number().min(0),
  outputPerMTok: z.coerce.number().min(0),
});

/** A price in USD per million tokens. */
export type Price = z.infer<typeof priceSchema>;

/**
 * Prices the price library does not know. The simulated models stand in for real ones, so they cost what the real
 * ones cost: `sim-small` is priced like gpt-4o-mini and `sim-large` like gpt-4o (OpenAI list prices, as in
 * @pydantic/genai-prices 0.1.8); any other `sim-*` model falls back to the `sim-small` price.
 * `text-embedding-3-small` is OpenAI's list price for the embedder of the `openai` cache embedder.
 */
export const DEFAULT_PRICES: Record<string, Price> = {
  "sim-small": { inputPerMTok: 0.15, outputPerMTok: 0.6 },
  "sim-large": { inputPerMTok: 2.5, outputPerMTok: 10 },
  "text-embedding-3-small": { inputPerMTok: 0.02, outputPerMTok: 0 },
};

/** Cheaper models the downgrade rule proposes, by expensive model (same family, same provider). */
export const DEFAULT_DOWNGRADES: Record<string, string> = {
  "sim-large": "sim-small",
  "gpt-4o": "gpt-4o-mini",
  "gpt-4.1": "gpt-4.1-mini",
  "gpt-4-turbo": "gpt-4o-mini",
  "gpt-5": "gpt-5-mini",
  "o3": "o4-mini",
  "claude-3-5-sonnet-latest": "claude-3-5-haiku-latest",
  "gemini-1.5-pro": "gemini-1.5-flash",
};

/** A soft and/or hard limit in USD for one window. */
export const limitSchema = z.object({
  soft: z.coerce.number().positive().optional().describe("alert (metric + log line) when spend crosses this"),
  hard: z.coerce.number().positive().optional().describe("reject requests (429 budget_exceeded) at this spend"),
});

/** Limits of one budget scope, per UTC day and per UTC calendar month. */
export const budgetSchema = z.object({
  daily: limitSchema.optional(),
  monthly: limitSchema.optional(),
});

/** The budget of one scope. */
export type Budget = z.infer<typeof budgetSchema>;

const positive = z.coerce.number().positive();
const nonNegative = z.coerce.number().min(0);

/** The `cost` configuration section. */
export const costConfigSchema = z.object({
  enabled: booleanSetting.default(true)
    .describe("AMAS_COST_ENABLED: account costs, enforce budgets, serve /v1/costs"),
  prices: z.record(z.string().min(1), priceSchema).default({})
    .describe("overrides of the price table (USD per million tokens), by model name; win over the price library"),
  budgets: z.object({
    tenants: z.record(z.string().min(1), budgetSchema).default({})
      .describe("budgets by tenant; '*' applies to every tenant without its own"),
    agents: z.record(z.string().min(1), budgetSchema).default({})
      .describe("budgets by agent id, applied to each tenant's agent of that id; '*' applies to every agent"),
  }).default({ tenants: {}, agents: {} }),
  bucketSeconds: z.coerce.number().int().min(1).max(3600).default(60)
    .describe("width of the in-memory aggregation buckets"),
  retentionHours: z.coerce.number().int().min(1).max(24 * 62).default(24 * 8)
    .describe("how long aggregates are kept (memory buckets and Redis hash TTL)"),
  redisKeyPrefix: z.string().min(1).default("amas:cost:").describe("prefix of the Redis keys of cluster totals"),
  flushMs: z.coerce.number().int().min(10).default(1000)
    .describe("AMAS_COST_FLUSH_MS: how often local increments are pushed to Redis"),
  maxPendingFields: z.coerce.number().int().min(100).default(50_000)
    .describe("bound of the increments kept for Redis while it is unreachable"),
  recommendations: z.object({
    minRequests: z.coerce.number().int().min(1).default(20)
      .describe("requests an agent/model needs before rules judge it"),
    minMonthlySavingUsd: nonNegative.default(1).describe("recommendations saving less per month are not shown"),
    minObservedSeconds: z.coerce.number().min(0).default(300)
      .describe("no recommendations before the figures span this long (extrapolating seconds to a month misleads)"),
    shortPromptTokens: positive.default(500).describe("downgrade rule: average prompt at most this long"),
    shortAnswerTokens: positive.default(300).describe("downgrade rule: average answer at most this long"),
    downgrades: z.record(z.string().min(1), z.string().min(1)).default(DEFAULT_DOWNGRADES)
      .describe("expensive model → the cheaper model to propose"),
    nearMissBand: fraction.default(0.05).describe("a miss within this much below the threshold is a near-miss"),
    nearMissRatio: fraction.default(0.1).describe("near-miss rule: share of lookups that are near-misses"),
    minNearMisses: z.coerce.number().int().min(1).default(10).describe("near-miss rule: at least this many"),
    idleRatio: fraction.default(0.3).describe("replica rule: per-replica load below this share of the target"),
    rightSizeRatio: fraction.default(0.5).describe("right-size rule: observed use below this share of the request"),
    headroom: z.coerce.number().min(1).default(1.3).describe("right-size rule: headroom over the observed peak"),
  }).default(() => ({
    minRequests: 20,
    minMonthlySavingUsd: 1,
    minObservedSeconds: 300,
    shortPromptTokens: 500,
    shortAnswerTokens: 300,
    downgrades: DEFAULT_DOWNGRADES,
    nearMissBand: 0.05,
    nearMissRatio: 0.1,
    minNearMisses: 10,
    idleRatio: 0.3,
    rightSizeRatio: 0.5,
    headroom: 1.3,
  })),
  scaling: z.object({
    minReplicas: z.coerce.number().int().min(1).default(2).describe("the ScaledObject's minReplicaCount"),
    targetRpsPerReplica: positive.default(15).describe("the KEDA requests-per-second-per-pod target"),
    replicas: z.coerce.number().int().min(1).optional()
      .describe("replicas currently running (default: minReplicas; a scaling metrics source may report it)"),
  }).default({ minReplicas: 2, targetRpsPerReplica: 15 }),
  container: z.object({
    cpuRequestCores: positive.default(0.5).describe("the Deployment's CPU request, in cores"),
    memoryRequestBytes: positive.default(512 * 1024 * 1024).describe("the Deployment's memory request, in bytes"),
    cpuCoreHourUsd: nonNegative.default(0.04)
      .describe("price of one requested vCPU for an hour (placeholder of the order of cloud list prices)"),
    memoryGibHourUsd: nonNegative.default(0.005)
      .describe("price of one requested GiB of memory for an hour (placeholder of the order of cloud list prices)"),
    sampleMs: z.coerce.number().int().min(100).default(5000).describe("how often CPU and memory use are sampled"),
  }).default({
    cpuRequestCores: 0.5,
    memoryRequestBytes: 512 * 1024 * 1024,
    cpuCoreHourUsd: 0.04,
    memoryGibHourUsd: 0.005,
    sampleMs: 5000,
  }),
});

/** The validated `cost` section. */
export type CostConfig = z.infer<typeof costConfigSchema>;
