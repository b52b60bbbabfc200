/**
 * Provider routing: several deployments per model (`providers.deployments`, `routing.models`), ordered per call
 * by a policy (weighted, least-latency, cost-aware, priority) that skips open breakers and saturated deployments
 * and re-admits recovering ones gradually; per-deployment metrics and `GET /v1/routing`. `src/wiring.ts` calls
 * {@linkcode createRouting} once. Calibration (`deno task calibrate`) lives in `calibrate.ts`.
 *
 * @module
 */
import type { RouteMounter } from "../app.ts";
import type { DeploymentConfig } from "../providers/config.ts";
import type { ProviderRegistry } from "../providers/registry.ts";
import type { ProviderPolicies } from "../resilience/provider_policy.ts";
import type { Telemetry } from "../telemetry/telemetry.ts";
import type { RoutingConfig } from "./config.ts";
import type { DeploymentHealth } from "./health.ts";
import { RoutingMetrics } from "./metrics.ts";
import { DeploymentRouter } from "./router.ts";
import { routingRoutes } from "./routes.ts";

export { type RoutingConfig, routingConfigSchema } from "./config.ts";
export { type BreakerState, type DeploymentHealth, NO_BREAKERS } from "./health.ts";
export { DeploymentStats } from "./latency.ts";
export { DeploymentRouter, type RoutingSnapshot } from "./router.ts";
export { POLICIES, type RoutingPolicy } from "./policies.ts";

/** What routing is built from. */
export interface RoutingDeps {
  routing: RoutingConfig;
  deployments: Record<string, DeploymentConfig>;
  registry: ProviderRegistry;
  telemetry: Telemetry;
  /** Breaker health: {@linkcode resilienceHealth} of the resilience layer's policies (no breakers when absent). */
  health?: DeploymentHealth;
}

/** The built routing stage. */
export interface Routing {
  router: DeploymentRouter;
  /** Mounts `GET /v1/routing` and `PUT /admin/routing/deployments/{name}/sim`. */
  mount: RouteMounter;
}

/** Builds the router, its metrics and its routes. */
export function createRouting(deps: RoutingDeps): Routing {
  const metrics = new RoutingMetrics(deps.telemetry);
  const router = new DeploymentRouter({
    registry: deps.registry,
    routing: deps.routing,
    deployments: deps.deployments,
    health: deps.health,
    metrics,
  });
  const meter = deps.telemetry.meter;
  meter.createObservableGauge("amas_routing_latency_ewma_seconds", {
    description: "the router's smooth latency estimate per deployment and kind (json: whole answer, stream: first " +
      "chunk; decays while idle), seconds",
  }).addCallback((r) => {
    const now = performance.now();
    for (const s of router.allStats()) {
      for (const kind of ["json", "stream"] as const) {
        if (s.measured(kind)) r.observe(s.smoothMs(now, kind) / 1000, { deployment: s.name, kind });
      }
    }
  });
  meter.createObservableGauge("amas_routing_in_flight", {
    description: "calls in flight per deployment as the router counts them (streams until their last chunk)",
  }).addCallback((r) => {
    for (const s of router.allStats()) r.observe(s.inFlight, { deployment: s.name });
  });
  return { router, mount: routingRoutes(router, deps.registry) };
}

/**
 * The router's health from the resilience layer's policies: breaker states as they are, and a deployment counts
 * as saturated while its bulkhead has no free slot (a call sent there would queue or be shed).
 */
export function resilienceHealth(policies: ProviderPolicies): DeploymentHealth {
  return {
    isOpen: (deployment) => policies.isOpen(deployment),
    state: (deployment) => policies.state(deployment),
    saturated(deployment) {
      const policy = policies.for(deployment);
      return policy.load.active >= policy.config.bulkhead.maxConcurrent;
    },
  };
}
