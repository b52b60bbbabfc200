/**
 * Failure drill: after 8 s every call to `sim-small` fails (through `PUT /admin/sim` on the target), and at 18 s
 * it recovers. The breaker should turn the failures into fast answers (no pile-up of slow calls), the other
 * model must stay healthy (no cascade), and latency must stay bounded throughout.
 *
 * @module
 */
import { defineScenario, type Scenario } from "../../src/loadtest/mod.ts";

/** The scenario. */
const scenario: Scenario = defineScenario({
  name: "breaker_drill",
  description: "open model 20 req/s for 30 s; sim-small fails 100 % from 8 s to 18 s (failure injection)",
  load: { model: "open", stages: [{ durationS: 30, rate: 20 }] },
  mix: {
    agents: { research_agent: 1 },
    models: { "sim-small": 1, "sim-large": 1 },
    // The drill is about the upstream path: bypass the cache so every request reaches the provider.
    headers: { "x-amas-cache": "bypass" },
  },
  actions: [
    { atS: 8, sim: { model: "sim-small", error_rate: 1 }, note: "sim-small starts failing" },
    { atS: 18, sim: { model: "sim-small", error_rate: 0 }, note: "sim-small recovers" },
  ],
  // A third of the run, half the traffic fails by design; the drill checks that failures stay fast.
  // sim-large shares nothing with the failing model but the provider: its requests must all succeed.
  slo: { p99Ms: 1500, maxErrorRate: 0.3, tags: { "model:sim-large": { maxErrorRate: 0.01, p99Ms: 1500 } } },
});
export default scenario;
