/**
 * A bounded soak: a steady 15 req/s for two minutes (Poisson arrivals), watching for drift in latency or
 * errors over time. Stretch it with `--duration` for a longer soak.
 *
 * @module
 */
import { defineScenario, type Scenario } from "../../src/loadtest/mod.ts";

/** The scenario. */
const scenario: Scenario = defineScenario({
  name: "soak",
  description: "open model, Poisson arrivals at 15 req/s for 120 s (bounded; stretch with --duration)",
  load: { model: "open", arrivals: "poisson", stages: [{ durationS: 120, rate: 15 }] },
  mix: {
    agents: { research_agent: 3, planner_agent: 1 },
    models: { "sim-small": 3, "sim-large": 1 },
    streamRate: 0.2,
    prompts: { repeatRate: 0.2, paraphraseRate: 0.1, hotSet: 200 },
  },
  slo: { p95Ms: 1000, p99Ms: 2000, maxErrorRate: 0.01, minRps: 12 },
});
export default scenario;
