/**
 * `GET /v1/routing` (policies, deployments, latency estimates, weights, health) and
 * `PUT /admin/routing/deployments/{name}/sim` (change a simulated deployment's latency or failures at run time,
 * for failure drills and load tests).
 *
 * @module
 */
import type { RouteMounter } from "../app.ts";
import { NotFoundError } from "../errors.ts";
import { simPatchSchema } from "../http/routes/admin_sim.ts";
import { parseJsonBody, validate } from "../http/validation.ts";
import type { ProviderRegistry } from "../providers/registry.ts";
import { SimulatedProvider } from "../providers/simulated.ts";
import type { DeploymentRouter } from "./router.ts";

const deploymentSimPatchSchema = simPatchSchema.omit({ model: true });

/** Mounts the routing routes. */
export function routingRoutes(router: DeploymentRouter, registry: ProviderRegistry): RouteMounter {
  return (app, guards) => {
    app.get("/v1/routing", (c) => c.json(router.snapshot()));
    app.put("/admin/routing/deployments/:name/sim", guards.admin, async (c) => {
      const name = c.req.param("name");
      const provider = registry.get(name);
      if (!(provider instanceof SimulatedProvider) || provider === registry.sim) {
        throw new NotFoundError(`no simulated deployment named "${name}"; see GET /v1/routing for the deployments`, {
          param: "name",
        });
      }
      const patch = validate(deploymentSimPatchSchema, await parseJsonBody(c));
      provider.patch(patch);
      return c.json({ deployment: name, profile: provider.profile(name) });
    });
  };
}
