/**
 * Cost accounting: per-request cost from provider usage (or a tokenizer estimate) and the price table, aggregates
 * per tenant, agent, model and time window (Redis cluster totals when configured), savings of the cache and
 * deduplication, budgets, and quantified recommendations. See docs/COST.md.
 *
 * @module
 */
import type { RouteMounter } from "../app.ts";
import type { Logger } from "../log.ts";
import type { Telemetry } from "../telemetry/telemetry.ts";
import { CostAccountant } from "./accountant.ts";
import type { CostConfig } from "./config.ts";
import type { ScalingObservations } from "./observations.ts";
import { NodeRedisCommands } from "./redis_commands.ts";
import { costRoutes } from "./routes.ts";

export { CostAccountant } from "./accountant.ts";
export type { Advice, CostDetail, CostSummary, GroupBy, Visibility } from "./accountant.ts";
export type { CacheObservations, EmbeddingObservation, LookupObservation } from "./observations.ts";
export { PriceTable } from "./prices.ts";
export { type CostProfile, recommend, type Recommendation } from "./recommendations.ts";

/** The cost feature, built. */
export interface Cost {
  accountant: CostAccountant;
  mount: RouteMounter;
  close(): Promise<void>;
}

/** Builds cost accounting from its configuration section. */
export function createCost(
  config: CostConfig,
  deps: { telemetry: Telemetry; logger: Logger; redisUrl?: string; scaling?: ScalingObservations },
): Cost {
  const accountant = new CostAccountant({
    config,
    telemetry: deps.telemetry,
    logger: deps.logger,
    redis: deps.redisUrl ? new NodeRedisCommands(deps.redisUrl) : undefined,
    scaling: deps.scaling,
  });
  return {
    accountant,
    mount: costRoutes(accountant, config.retentionHours),
    close: () => accountant.close(),
  };
}
