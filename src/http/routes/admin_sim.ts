/**
 * `PUT /admin/sim` and `GET /admin/sim`: change and read the simulated provider's behaviour at run time (latency,
 * jitter, error and 429 rates, hang), for failure drills and load tests.
 *
 * @module
 */
import type { Context } from "hono";
import { z } from "zod";
import type { SimulatedProvider } from "../../providers/simulated.ts";
import { parseJsonBody, validate } from "../validation.ts";

/** The body of `PUT /admin/sim`. */
export const simPatchSchema = z.strictObject({
  model: z.string().regex(/^sim-/, "simulated model names start with sim-").optional(),
  latency_ms: z.number().min(0).max(600_000).optional(),
  jitter_ms: z.number().min(0).max(600_000).optional(),
  tokens_per_second: z.number().positive().max(1_000_000).optional(),
  error_rate: z.number().min(0).max(1).optional(),
  rate_limit_rate: z.number().min(0).max(1).optional(),
  hang: z.boolean().optional(),
  completion_tokens: z.number().int().min(1).max(4096).optional(),
});

/** Applies a patch to the simulated provider. */
export function putSim(sim: SimulatedProvider) {
  return async function putSim(c: Context): Promise<Response> {
    const patch = validate(simPatchSchema, await parseJsonBody(c));
    const models = sim.patch(patch);
    return c.json({ updated: models, profiles: Object.fromEntries(models.map((m) => [m, sim.profile(m)])) });
  };
}

/** Reads the simulated provider's profiles and call counts. */
export function getSim(sim: SimulatedProvider) {
  return function getSim(c: Context): Response {
    return c.json({
      profiles: Object.fromEntries(sim.models().map((m) => [m, sim.profile(m)])),
      stats: sim.stats(),
    });
  };
}
