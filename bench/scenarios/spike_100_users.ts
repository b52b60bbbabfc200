/**
 * A spike: 10 virtual users, then 100 within two seconds (the seed's "100 concurrent users"), held, then back.
 * Closed model with think time, so throughput follows the gateway's latency.
 *
 * @module
 */
import { defineScenario, type Scenario } from "../../src/loadtest/mod.ts";

/** The scenario. */
const scenario: Scenario = defineScenario({
  name: "spike_100_users",
  description: "closed model: 10 users, spike to 100 users in 2 s, hold 15 s, back to 10; think time 200-800 ms",
  load: {
    model: "closed",
    startVus: 10,
    stages: [
      { durationS: 5, vus: 10 },
      { durationS: 2, vus: 100 },
      { durationS: 15, vus: 100 },
      { durationS: 3, vus: 10 },
    ],
    thinkTimeMs: { min: 200, max: 800 },
  },
  mix: {
    agents: { research_agent: 5, planner_agent: 3, writer_agent: 2 },
    models: { "sim-small": 3, "sim-large": 1 },
    streamRate: 0.2,
    prompts: { repeatRate: 0.2, paraphraseRate: 0.1, hotSet: 100 },
  },
  slo: { p95Ms: 1500, p99Ms: 3000, maxErrorRate: 0.02, minRps: 30 },
});
export default scenario;
