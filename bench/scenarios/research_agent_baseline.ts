/**
 * The everyday mix of a research agent and its planner: an open-model ramp to 20 requests/second, mostly the
 * small model, a fifth streamed, a little repetition. The baseline other runs are compared with.
 *
 * @module
 */
import { defineScenario, type Scenario } from "../../src/loadtest/mod.ts";

/** The scenario. */
const scenario: Scenario = defineScenario({
  name: "research_agent_baseline",
  description: "research agent + planner, open model ramping 5 → 20 req/s then holding, 20 % streamed",
  load: {
    model: "open",
    startRate: 5,
    stages: [{ durationS: 10, rate: 20 }, { durationS: 20, rate: 20 }],
  },
  mix: {
    agents: { research_agent: 7, planner_agent: 3 },
    models: { "sim-small": 8, "sim-large": 2 },
    streamRate: 0.2,
    prompts: { repeatRate: 0.1, paraphraseRate: 0.1, hotSet: 50 },
    maxTokens: 64,
  },
  slo: { p50Ms: 400, p95Ms: 1000, p99Ms: 2000, maxErrorRate: 0.01, minRps: 12, ttftP95Ms: 800 },
});
export default scenario;
