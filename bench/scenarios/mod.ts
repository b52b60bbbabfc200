/**
 * The scenarios `deno task load list` shows and `deno task load run <name>` runs.
 *
 * @module
 */
import type { Scenario } from "../../src/loadtest/mod.ts";
import researchAgentBaseline from "./research_agent_baseline.ts";
import cacheHeavy from "./cache_heavy.ts";
import spike100Users from "./spike_100_users.ts";
import breakerDrill from "./breaker_drill.ts";
import soak from "./soak.ts";

/** Every built-in scenario by name. */
export const SCENARIOS: Record<string, Scenario> = Object.fromEntries(
  [researchAgentBaseline, cacheHeavy, spike100Users, breakerDrill, soak].map((s) => [s.name, s]),
);
