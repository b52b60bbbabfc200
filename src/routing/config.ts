/**
 * Configuration of provider routing: which deployments (`providers.deployments`) serve a model and the policy
 * that orders them, plus the constants of the latency estimate and of slow start.
 *
 * @module
 */
import { z } from "zod";
import { millis } from "../config_fields.ts";
import type { DeploymentConfig } from "../providers/config.ts";
import { readSimProfile } from "../providers/sim_profile.ts";

/** The routing policies. */
export const routingPolicySchema = z.enum(["weighted", "least-latency", "cost-aware", "priority"]);

/** A routing policy name. */
export type RoutingPolicyName = z.infer<typeof routingPolicySchema>;

/** How one model is routed. */
export const modelRoutingSchema = z.object({
  policy: routingPolicySchema.default("weighted").describe("how the deployments are ordered for each request"),
  deployments: z.array(z.string().min(1)).min(1, "list at least one deployment")
    .describe("names in providers.deployments that serve this model"),
  latencyTargetMs: millis.min(1).optional()
    .describe("cost-aware: latency a deployment must meet to be chosen for its price (default: none, cheapest wins)"),
  streamLatencyTargetMs: millis.min(1).optional()
    .describe("cost-aware, streamed calls: time to the first chunk to meet (default: latencyTargetMs)"),
  expectedCompletionTokens: z.coerce.number().int().min(1).default(256)
    .describe("cost-aware: completion length assumed when a request sets no max_tokens"),
});

/** The routing of one model. */
export type ModelRoutingConfig = z.infer<typeof modelRoutingSchema>;

const DEFAULTS = {
  models: {},
  ewmaDecayMs: 10_000,
  initialLatencyMs: 250,
  errorPenaltyMs: 1_000,
  slowStartMs: 10_000,
};

/** The `routing` configuration section. */
export const routingConfigSchema = z.object({
  models: z.record(z.string().min(1), modelRoutingSchema).default({})
    .describe("model name → policy and deployments; models not listed are routed as before (one provider)"),
  ewmaDecayMs: millis.min(100).default(DEFAULTS.ewmaDecayMs)
    .describe(
      "AMAS_ROUTING_EWMA_DECAY_MS: time constant of the latency EWMA; an idle deployment's estimate decays with it",
    ),
  initialLatencyMs: millis.min(1).default(DEFAULTS.initialLatencyMs)
    .describe("latency assumed for a deployment before its first measured call"),
  errorPenaltyMs: millis.default(DEFAULTS.errorPenaltyMs)
    .describe("latency recorded for a failed call, so that a fast-failing deployment does not look fast"),
  slowStartMs: millis.default(DEFAULTS.slowStartMs)
    .describe("AMAS_ROUTING_SLOW_START_MS: after its breaker closes, a deployment's share ramps up over this time"),
}).default(DEFAULTS);

/** The validated `routing` section. */
export type RoutingConfig = z.infer<typeof routingConfigSchema>;

/**
 * Checks the routing section against the deployments that exist (each unknown name reported at its path), and
 * that every simulated deployment's `simProfile` file reference can be read. Called from the whole-config
 * refinement in `src/config.ts`, so start-up stops with one line naming the bad setting.
 */
export function checkRoutingDeployments(
  routing: RoutingConfig,
  deployments: Record<string, DeploymentConfig>,
  report: (path: (string | number)[], message: string) => void,
): void {
  for (const [name, d] of Object.entries(deployments)) {
    if (d.type !== "sim" || typeof d.simProfile !== "string") continue;
    try {
      readSimProfile(d.simProfile, name);
    } catch (err) {
      report(["providers", "deployments", name, "simProfile"], (err as Error).message.replace(/^simProfile: /, ""));
    }
  }
  for (const [model, route] of Object.entries(routing.models)) {
    route.deployments.forEach((name, i) => {
      if (!(name in deployments)) {
        const known = Object.keys(deployments).join(", ") || "none";
        report(
          ["routing", "models", model, "deployments", i],
          `deployment "${name}" is not in providers.deployments (known: ${known}); add it there or fix the name`,
        );
      }
    });
    if (new Set(route.deployments).size !== route.deployments.length) {
      report(["routing", "models", model, "deployments"], "a deployment is listed twice; list each once");
    }
  }
}
