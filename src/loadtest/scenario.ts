/**
 * Load-test scenarios: a typed, zod-validated description of the load (open model: arrival rate in stages;
 * closed model: virtual users with think time), the request mix (agents, models, prompts with repeats and
 * paraphrases, streaming), failure-injection actions, and the SLOs that decide the verdict.
 *
 * @module
 */
import { z } from "zod";

const seconds = z.number().positive();
/** Weighted choices, e.g. `{ "sim-small": 3, "sim-large": 1 }`. */
const weights = z.record(z.string().min(1), z.number().min(0)).refine(
  (w) => Object.values(w).some((v) => v > 0),
  "at least one weight must be positive",
);

/** Open model: requests arrive on a schedule whatever the target does (latency from the intended send time). */
export const openLoadSchema = z.strictObject({
  model: z.literal("open"),
  /** Arrival rate at t=0; the first stage ramps from it to its own rate (default: the first stage's rate). */
  startRate: z.number().min(0).optional(),
  /** Each stage ramps linearly from the previous rate to `rate` (requests/second) over `durationS`. */
  stages: z.array(z.strictObject({ durationS: seconds, rate: z.number().min(0) })).min(1),
  /** Uniformly spaced arrivals, or a Poisson process with the same rate. */
  arrivals: z.enum(["uniform", "poisson"]).default("uniform"),
  /** Requests in flight at most; an arrival beyond it is counted as dropped, never queued. */
  maxInFlight: z.number().int().min(1).default(500),
});

/** Closed model: virtual users that send, wait for the answer, think, and send again. */
export const closedLoadSchema = z.strictObject({
  model: z.literal("closed"),
  /** Virtual users at t=0; each stage ramps linearly to `vus` over `durationS`. */
  startVus: z.number().int().min(0).optional(),
  stages: z.array(z.strictObject({ durationS: seconds, vus: z.number().int().min(0) })).min(1),
  thinkTimeMs: z.strictObject({ min: z.number().min(0), max: z.number().min(0) })
    .refine((t) => t.max >= t.min, "thinkTimeMs.max must be at least thinkTimeMs.min")
    .default({ min: 0, max: 0 }),
});

/** What each request looks like. */
export const mixSchema = z.strictObject({
  /** `x-amas-agent` values. */
  agents: weights.default({ default: 1 }),
  /** Model names. */
  models: weights.default({ "sim-small": 1 }),
  /** Share of requests sent with `stream: true` (TTFT is measured for them). */
  streamRate: z.number().min(0).max(1).default(0),
  prompts: z.strictObject({
    /** Share of prompts that repeat an earlier prompt word for word (exact-cache candidates). */
    repeatRate: z.number().min(0).max(1).default(0),
    /** Share of prompts that rephrase an earlier prompt (semantic-cache candidates). */
    paraphraseRate: z.number().min(0).max(1).default(0),
    /** How many distinct earlier prompts repeats and paraphrases draw from (the hot set). */
    hotSet: z.number().int().min(1).default(50),
    /** System prompt sent with every request (part of the cache scope). */
    system: z.string().optional(),
  }).refine((p) => p.repeatRate + p.paraphraseRate <= 1, "repeatRate + paraphraseRate must be at most 1")
    .default({ repeatRate: 0, paraphraseRate: 0, hotSet: 50 }),
  maxTokens: z.number().int().min(1).optional(),
  /** Extra request headers (e.g. `x-amas-cache: bypass`). */
  headers: z.record(z.string(), z.string()).default({}),
  /** Plain requests instead of chat completions (the generator-ceiling benchmark hits a static endpoint). */
  http: z.strictObject({ method: z.string().default("GET"), path: z.string().startsWith("/") }).optional(),
});

/** A failure-injection step: at `atS` seconds, `PUT /admin/sim` with `sim` on the target. */
export const actionSchema = z.strictObject({
  atS: z.number().min(0),
  /** Body of `PUT /admin/sim` (see API.md). */
  sim: z.record(z.string(), z.unknown()),
  note: z.string().optional(),
});

/** Thresholds that decide the exit code. Latencies in milliseconds; rates as fractions. */
export const sloSchema = z.strictObject({
  p50Ms: z.number().positive().optional(),
  p95Ms: z.number().positive().optional(),
  p99Ms: z.number().positive().optional(),
  /** Highest acceptable share of failed requests (non-2xx or network errors). */
  maxErrorRate: z.number().min(0).max(1).optional(),
  /** Lowest acceptable completed requests per second over the run. */
  minRps: z.number().min(0).optional(),
  /** Lowest acceptable share of 2xx answers served from cache (`x-amas-cache: exact|semantic`). */
  minCacheHitRate: z.number().min(0).max(1).optional(),
  /** Highest acceptable share of arrivals dropped because `maxInFlight` was reached (open model). */
  maxDroppedRate: z.number().min(0).max(1).optional(),
  /** 95th percentile of time to first token of streamed requests. */
  ttftP95Ms: z.number().positive().optional(),
  /**
   * Thresholds for one tag of the results, e.g. `{ "model:sim-large": { maxErrorRate: 0.01 } }`: the part of the
   * traffic a drill must leave unharmed.
   */
  tags: z.record(
    z.string().regex(/^(status|cache|agent|model|stream):.+$/, "tags look like model:sim-large or agent:planner"),
    z.strictObject({
      p50Ms: z.number().positive().optional(),
      p95Ms: z.number().positive().optional(),
      p99Ms: z.number().positive().optional(),
      maxErrorRate: z.number().min(0).max(1).optional(),
    }),
  ).optional(),
});

/** Settings for the gateway that `load run` starts itself when no `--target` is given. */
export const embeddedGatewaySchema = z.strictObject({
  /** Environment of the embedded gateway (API.md names), e.g. `{ AMAS_CACHE_ENABLED: "false" }`. */
  env: z.record(z.string(), z.string()).default({}),
});

/** A whole scenario. */
export const scenarioSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9_]+$/, "scenario names are snake_case"),
  description: z.string().min(1),
  load: z.discriminatedUnion("model", [openLoadSchema, closedLoadSchema]),
  mix: mixSchema.default(() => mixSchema.parse({})),
  actions: z.array(actionSchema).default([]),
  slo: sloSchema.default({}),
  /** How long in-flight requests may finish after the last arrival before they are cut off. */
  gracefulStopS: z.number().min(0).default(10),
  /**
   * Requests sent one after another before the clock starts and left out of the results, so lazy start-up work
   * of the target (an embedder loading its model, JIT) is not measured as the first second of load.
   */
  warmupRequests: z.number().int().min(0).default(5),
  /** Per-request timeout; a request past it counts as an error (`timeout`). */
  requestTimeoutS: z.number().positive().default(30),
  embedded: embeddedGatewaySchema.default({ env: {} }),
  /** Seed of the prompt, mix and arrival draws. */
  seed: z.number().int().default(1),
});

/** A validated scenario. */
export type Scenario = z.infer<typeof scenarioSchema>;
/** A scenario as written in a module (defaults not yet applied). */
export type ScenarioInput = z.input<typeof scenarioSchema>;
/** Open-model load. */
export type OpenLoad = z.infer<typeof openLoadSchema>;
/** Closed-model load. */
export type ClosedLoad = z.infer<typeof closedLoadSchema>;
/** The SLO thresholds. */
export type Slo = z.infer<typeof sloSchema>;
/** The request mix. */
export type Mix = z.infer<typeof mixSchema>;

/** Validates a scenario; throws an error naming the first invalid field. */
export function defineScenario(input: ScenarioInput): Scenario {
  const parsed = scenarioSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = typeof (input as { name?: unknown }).name === "string" ? input.name : "(unnamed)";
    throw new Error(`scenario ${name}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data;
}

/** Total planned duration in seconds (stages only, not the graceful stop). */
export function scenarioDurationS(scenario: Scenario): number {
  return scenario.load.stages.reduce((sum, s) => sum + s.durationS, 0);
}

/** Overrides from the command line. */
export interface ScenarioOverrides {
  /** Stretch or shrink every stage (and action time) so the stages last this long. */
  durationS?: number;
  /** Scale open-model arrival rates so the peak is this rate (the `minRps` SLO scales with them). */
  rate?: number;
  /** Scale closed-model virtual users so the peak is this many. */
  vus?: number;
  /** SLO fields to replace. */
  slo?: Partial<Slo>;
}

/** Applies command-line overrides; returns a new validated scenario. */
export function applyOverrides(scenario: Scenario, overrides: ScenarioOverrides): Scenario {
  const copy: Scenario = structuredClone(scenario);
  if (overrides.durationS !== undefined) {
    const factor = overrides.durationS / scenarioDurationS(scenario);
    for (const stage of copy.load.stages) stage.durationS *= factor;
    for (const action of copy.actions) action.atS *= factor;
  }
  if (overrides.rate !== undefined) {
    if (copy.load.model !== "open") throw new Error("--rate applies to open-model scenarios; use --vus for this one");
    const peak = Math.max(...copy.load.stages.map((s) => s.rate), copy.load.startRate ?? 0);
    const factor = peak > 0 ? overrides.rate / peak : 0;
    for (const stage of copy.load.stages) stage.rate *= factor;
    if (copy.load.startRate !== undefined) copy.load.startRate *= factor;
    // A throughput floor is about the offered load: it scales with it.
    if (copy.slo.minRps !== undefined) copy.slo.minRps *= factor;
  }
  if (overrides.vus !== undefined) {
    if (copy.load.model !== "closed") {
      throw new Error("--vus applies to closed-model scenarios; use --rate for this one");
    }
    const peak = Math.max(...copy.load.stages.map((s) => s.vus), copy.load.startVus ?? 0);
    const factor = peak > 0 ? overrides.vus / peak : 0;
    for (const stage of copy.load.stages) stage.vus = Math.round(stage.vus * factor);
    if (copy.load.startVus !== undefined) copy.load.startVus = Math.round(copy.load.startVus * factor);
  }
  if (overrides.slo) copy.slo = { ...copy.slo, ...overrides.slo };
  return defineScenario(copy);
}
