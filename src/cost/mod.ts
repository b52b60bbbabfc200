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
import type { CostConfig, Price } from "./config.ts";
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
  deps: {
    telemetry: Telemetry;
    logger: Logger;
    redisUrl?: string;
    scaling?: ScalingObservations;
    /** Routing deployments; those with prices are priced at them. */
    deployments?: Record<string, { inputPerMTok?: number; outputPerMTok?: number }>;
  },
): Cost {
  const accountant = new CostAccountant({
    config,
    telemetry: deps.telemetry,
    logger: deps.logger,
    redis: deps.redisUrl ? new NodeRedisCommands(deps.redisUrl) : undefined,
    scaling: deps.scaling,
    deploymentPrices: deploymentPrices(deps.deployments ?? {}),
  });
  return {
    accountant,
    mount: costRoutes(accountant, config.retentionHours),
    close: () => accountant.close(),
  };
}

/** Deployments with a configured price (a missing direction counts as free, as the cost-aware policy does). */
function deploymentPrices(
  deployments: Record<string, { inputPerMTok?: number; outputPerMTok?: number }>,
): Record<string, Price> {
  const out: Record<string, Price> = {};
  for (const [name, d] of Object.entries(deployments)) {
    if (d.inputPerMTok === undefined && d.outputPerMTok === undefined) continue;
    out[name] = { inputPerMTok: d.inputPerMTok ?? 0, outputPerMTok: d.outputPerMTok ?? 0 };
  }
  return out;
}
