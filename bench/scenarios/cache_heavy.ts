/**
 * Traffic the cache should carry: half the prompts repeat an earlier one word for word and a fifth rephrase
 * one, drawn from a hot set of 20 questions. Checks the hit rate and that hits are fast.
 *
 * @module
 */
import { defineScenario, type Scenario } from "../../src/loadtest/mod.ts";

/** The scenario. */
const scenario: Scenario = defineScenario({
  name: "cache_heavy",
  description: "open model, 30 req/s for 20 s; 50 % exact repeats and 20 % paraphrases of a hot set of 20",
  load: { model: "open", stages: [{ durationS: 20, rate: 30 }] },
  mix: {
    agents: { research_agent: 1 },
    models: { "sim-small": 3, "sim-large": 1 },
    streamRate: 0.1,
    prompts: { repeatRate: 0.5, paraphraseRate: 0.2, hotSet: 20 },
  },
  slo: { p95Ms: 600, maxErrorRate: 0.01, minCacheHitRate: 0.4 },
});
export default scenario;
