/**
 * The router's view of deployments: one {@linkcode Deployment} per configured deployment (shared by every model
 * it serves, since breakers and load are per deployment) and one {@linkcode Candidate} per model × deployment
 * (its route and the policy's per-model bookkeeping).
 *
 * @module
 */
import type { DeploymentConfig } from "../providers/config.ts";
import type { Route } from "../providers/registry.ts";
import type { DeploymentStats } from "./latency.ts";

/** One deployment as the router tracks it. */
export interface Deployment {
  readonly name: string;
  readonly config: DeploymentConfig;
  readonly stats: DeploymentStats;
  /** Whether the breaker was seen not closed at the last routing decision (to notice it closing). */
  wasDown: boolean;
  /** When its breaker was last seen closing again (slow start starts here); -Infinity when never. */
  recoveredAt: number;
}

/** One deployment of one model. */
export interface Candidate {
  readonly deployment: Deployment;
  /** The route handed to the upstream invoker (its provider observes every attempt). */
  readonly route: Route;
  /** Smooth weighted round robin's running weight for this model. */
  current: number;
  /** Scratch score of the decision in progress (lower is better). */
  score: number;
  /** Scratch: estimated price of the call in the decision in progress, USD. */
  price: number;
  /** Scratch: whether the deployment meets the model's latency target in the decision in progress. */
  meets: boolean;
  /** How many times it was the first choice. */
  selected: number;
}
