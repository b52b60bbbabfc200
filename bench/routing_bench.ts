/**
 * Cost of one routing decision (`Router.candidates`) per policy, over three deployments with measured latencies,
 * with the real metrics counter. Baseline: what the gateway did before routing (the registry's single route).
 * Target: well under 10 µs per decision.
 *
 * Run: `deno bench -A bench/routing_bench.ts`
 */
import { parseConfig } from "../src/config.ts";
import type { ChatCall } from "../src/gateway/stages.ts";
import { ProviderRegistry } from "../src/providers/registry.ts";
import { DeploymentRouter } from "../src/routing/mod.ts";
import type { RoutingPolicyName } from "../src/routing/config.ts";
import { RoutingMetrics } from "../src/routing/metrics.ts";
import { Telemetry } from "../src/telemetry/telemetry.ts";

const POLICY_NAMES: RoutingPolicyName[] = ["weighted", "least-latency", "cost-aware", "priority"];
const config = parseConfig({
  providers: {
    deployments: {
      a: { type: "sim", weight: 3, priority: 0, inputPerMTok: 2.5, outputPerMTok: 10 },
      b: { type: "sim", weight: 2, priority: 0, inputPerMTok: 1.25, outputPerMTok: 5 },
      c: { type: "sim", weight: 1, priority: 1, inputPerMTok: 0.15, outputPerMTok: 0.6 },
    },
  },
  routing: {
    models: Object.fromEntries(
      POLICY_NAMES.map((p) => [`m-${p}`, { policy: p, deployments: ["a", "b", "c"], latencyTargetMs: 300 }]),
    ),
  },
});
const registry = new ProviderRegistry(config.providers);
const telemetry = new Telemetry({ serviceName: "bench" });
const router = new DeploymentRouter({
  registry,
  routing: config.routing,
  deployments: config.providers.deployments,
  metrics: new RoutingMetrics(telemetry),
});
const now = performance.now();
for (const [name, ms] of [["a", 120], ["b", 180], ["c", 450]] as const) {
  for (let i = 0; i < 20; i++) router.stats(name)!.observe(ms + (i % 5) * 7, false, now);
}

function call(model: string): ChatCall {
  return {
    request: { model, messages: [{ role: "user", content: "Summarise the quarterly report in three bullet points." }] },
  } as unknown as ChatCall;
}

const baselineCall = call("sim-small");
Deno.bench("registry route (no routing)", { group: "routing decision", baseline: true }, () => {
  registry.resolve(baselineCall.request.model);
});
for (const policy of POLICY_NAMES) {
  const c = call(`m-${policy}`);
  Deno.bench(policy, { group: "routing decision" }, () => {
    router.candidates(c);
  });
}
