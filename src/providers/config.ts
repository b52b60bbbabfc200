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

/**
 * A simulated deployment's latency profile: inline (the fields of a simulated model), or a reference
 * `"<calibration.json>#<deployment>"` to the `simProfile` that `deno task calibrate` measured for a deployment (the
 * fragment defaults to this deployment's name), so a measured real upstream can be replayed in simulation.
 */
export const simProfileSchema = z.union([z.string().min(1), simModelSchema]);

/**
 * One deployment: an upstream (OpenAI-compatible endpoint or simulated) that serves a model, with the numbers the
 * router balances on. Each deployment becomes its own provider named after it, so breakers and metrics are per
 * deployment.
 */
export const deploymentSchema = z.object({
  type: z.enum(["openai", "sim"]).describe("openai: any OpenAI-compatible endpoint; sim: a simulated upstream"),
  baseUrl: z.url().optional().describe("openai: the endpoint's base URL, …/v1 (default: OpenAI's)"),
  apiKey: z.string().min(1).optional().describe("openai: bearer key"),
  apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional()
    .describe("openai: name of an environment variable holding the key (keeps keys out of config files)"),
  model: z.string().min(1).optional().describe("model name sent upstream (default: the model the client asked for)"),
  simProfile: simProfileSchema.optional().describe("sim: latency/error profile, inline or from a calibration file"),
  weight: z.coerce.number().min(0).default(1).describe("share of traffic under the weighted policy"),
  priority: z.coerce.number().int().min(0).default(0).describe("priority policy: lower goes first"),
  maxConcurrency: z.coerce.number().int().min(1).optional()
    .describe("calls in flight past which the deployment counts as saturated and is tried last"),
  inputPerMTok: z.coerce.number().min(0).optional().describe("USD per million prompt tokens (cost-aware policy)"),
  outputPerMTok: z.coerce.number().min(0).optional().describe("USD per million completion tokens"),
  timeoutMs: millis.default(60_000).describe("openai: whole-request timeout for non-streaming calls"),
});

/** Settings of one deployment. */
export type DeploymentConfig = z.infer<typeof deploymentSchema>;

/** Provider names the registry gives itself; deployments may not take them. */
const RESERVED_PROVIDER_NAMES = ["sim", "openai"];

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
  deployments: z.record(z.string(), deploymentSchema).default({}).describe(
    "named deployments that `routing.models` balances over",
  ),
}).superRefine((c, ctx) => {
  for (const name of Object.keys(c.deployments)) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
      ctx.addIssue({
        code: "custom",
        path: ["deployments", name],
        message: "a deployment name may only use letters, digits, '_', '.', '-' (at most 64)",
      });
    }
    if (RESERVED_PROVIDER_NAMES.includes(name) || name in c.upstreams) {
      ctx.addIssue({
        code: "custom",
        path: ["deployments", name],
        message: `the name "${name}" is already taken by a provider; give the deployment another name`,
      });
    }
  }
});

/** The validated `providers` section. */
export type ProvidersConfig = z.infer<typeof providersConfigSchema>;
