/**
 * Configuration of the upstreams: the simulated provider (the embedded default), the OpenAI-compatible upstream
 * of `OPENAI_API_KEY`/`OPENAI_BASE_URL`, further named OpenAI-compatible upstreams, and which model goes where.
 *
 * @module
 */
import { z } from "zod";
import { booleanSetting, fraction, millis } from "../config_fields.ts";

/** Behaviour of one simulated model: latency profile, failure injection and size of its answers. */
export const simModelSchema = z.object({
  ttftMs: millis.default(40).describe("time to first token"),
  tokensPerSecond: z.coerce.number().positive().default(400).describe("decode speed after the first token"),
  jitterMs: millis.default(10).describe("uniform random extra latency, 0..jitterMs"),
  errorRate: fraction.default(0).describe("share of calls that fail with a 500"),
  rateLimitRate: fraction.default(0).describe("share of calls that fail with a 429 + Retry-After"),
  hang: booleanSetting.default(false).describe("never answer (until the caller gives up)"),
  completionTokens: z.coerce.number().int().min(1).max(4096).default(24).describe("answer length in tokens"),
});

/** Settings for one simulated model. */
export type SimModelConfig = z.infer<typeof simModelSchema>;

const DEFAULT_SIM_MODELS: Record<string, Partial<SimModelConfig>> = {
  // sim-small: a fast, cheap model; sim-large: slower first token and decode, like a frontier model.
  "sim-small": { ttftMs: 40, tokensPerSecond: 400, jitterMs: 10 },
  "sim-large": { ttftMs: 120, tokensPerSecond: 120, jitterMs: 30 },
};

/** An OpenAI-compatible upstream. */
export const openAiUpstreamSchema = z.object({
  baseUrl: z.url().default("https://api.openai.com/v1"),
  apiKey: z.string().min(1).optional(),
  timeoutMs: millis.default(60_000).describe("whole-request timeout for non-streaming calls"),
  poolMaxIdlePerHost: z.coerce.number().int().min(1).default(64),
  poolIdleTimeoutMs: millis.default(30_000),
});

/** Settings for one OpenAI-compatible upstream. */
export type OpenAiUpstreamConfig = z.infer<typeof openAiUpstreamSchema>;

/** A model name routed to a named provider, optionally renamed for the upstream. */
export const modelRouteSchema = z.object({
  provider: z.string().min(1),
  upstreamModel: z.string().min(1).optional(),
});

/** The `providers` configuration section. */
export const providersConfigSchema = z.object({
  sim: z.object({
    models: z.record(z.string().regex(/^sim-/, "simulated model names start with sim-"), simModelSchema)
      .default(() =>
        Object.fromEntries(Object.entries(DEFAULT_SIM_MODELS).map(([k, v]) => [k, simModelSchema.parse(v)]))
      ),
    seed: z.coerce.number().int().default(1).describe("seed of the latency jitter and failure draws"),
  }).default(() => ({
    models: Object.fromEntries(Object.entries(DEFAULT_SIM_MODELS).map(([k, v]) => [k, simModelSchema.parse(v)])),
    seed: 1,
  })),
  openai: openAiUpstreamSchema.default(() => openAiUpstreamSchema.parse({})),
  upstreams: z.record(z.string().regex(/^[a-z0-9_-]+$/), openAiUpstreamSchema).default({})
    .describe("further OpenAI-compatible upstreams by name"),
  models: z.record(z.string().min(1), modelRouteSchema).default({}).describe("model name → provider"),
});

/** The validated `providers` section. */
export type ProvidersConfig = z.infer<typeof providersConfigSchema>;
