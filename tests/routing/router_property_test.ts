import assert from "node:assert/strict";
import fc from "fast-check";
import { parseConfig } from "../../src/config.ts";
import type { ChatCall } from "../../src/gateway/stages.ts";
import { ProviderRegistry } from "../../src/providers/registry.ts";
import { type BreakerState, DeploymentRouter } from "../../src/routing/mod.ts";
import { seeded } from "./support.ts";

type Health = "closed" | "refusing" | "probe";

const deploymentArb = fc.record({
  weight: fc.integer({ min: 0, max: 5 }),
  priority: fc.integer({ min: 0, max: 2 }),
  maxConcurrency: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  inFlight: fc.integer({ min: 0, max: 4 }),
  latency: fc.option(fc.integer({ min: 1, max: 2_000 }), { nil: undefined }),
  price: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
  health: fc.constantFrom<Health>("closed", "closed", "refusing", "probe"),
});

Deno.test("property: every decision is a permutation of the deployments, refusing ones last, a ready one first when any", () => {
  fc.assert(
    fc.property(
      fc.array(deploymentArb, { minLength: 1, maxLength: 6 }),
      fc.constantFrom("weighted", "least-latency", "cost-aware", "priority"),
      fc.option(fc.integer({ min: 1, max: 1_000 }), { nil: undefined }),
      fc.integer({ min: 1, max: 1_000_000 }),
      (specs, policy, latencyTargetMs, seed) => {
        const names = specs.map((_, i) => `d${i}`);
        const config = parseConfig({
          providers: {
            deployments: Object.fromEntries(specs.map((s, i) => [names[i], {
              type: "sim",
              weight: s.weight,
              priority: s.priority,
              ...(s.maxConcurrency ? { maxConcurrency: s.maxConcurrency } : {}),
              ...(s.price !== undefined ? { inputPerMTok: s.price, outputPerMTok: 2 * s.price } : {}),
            }])),
          },
          routing: { slowStartMs: 0, models: { m: { policy, deployments: names, latencyTargetMs } } },
        });
        const health = new Map(names.map((n, i) => [n, specs[i].health]));
        const router = new DeploymentRouter({
          registry: new ProviderRegistry(config.providers),
          routing: config.routing,
          deployments: config.providers.deployments,
          health: {
            isOpen: (d) => health.get(d) === "refusing",
            state: (d): BreakerState => health.get(d) === "closed" ? "closed" : "open",
          },
          now: () => 5_000,
          random: seeded(seed),
        });
        specs.forEach((s, i) => {
          const stats = router.stats(names[i])!;
          if (s.latency !== undefined) stats.observe(s.latency, false, 5_000);
          stats.inFlight = s.inFlight;
        });
        const call = { request: { model: "m", messages: [{ role: "user", content: "hi" }] } } as unknown as ChatCall;
        for (let round = 0; round < 3; round++) {
          const order = router.candidates(call).map((r) => r.provider.name);
          assert.deepEqual([...order].sort(), [...names].sort(), "a permutation of the deployments");
          const rank = (n: string) => order.indexOf(n);
          const refusing = names.filter((n) => health.get(n) === "refusing");
          const others = names.filter((n) => health.get(n) !== "refusing");
          if (refusing.length && others.length) {
            assert.ok(Math.min(...refusing.map(rank)) > Math.max(...others.map(rank)), "refusing ones last");
          }
          const ready = names.filter((n, i) =>
            health.get(n) === "closed" &&
            (specs[i].maxConcurrency === undefined || specs[i].inFlight < specs[i].maxConcurrency!)
          );
          const probing = names.filter((n) => health.get(n) === "probe");
          if (probing.length) assert.ok(probing.includes(order[0]), "a due probe goes first");
          else if (ready.length) assert.ok(ready.includes(order[0]), `first ${order[0]} is ready (${ready})`);
        }
      },
    ),
    { numRuns: 300 },
  );
});
