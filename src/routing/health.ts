/**
 * The health the router consults for each deployment. It has the shape of the resilience layer's
 * `ProviderHealth` (breakers keyed by provider name = deployment name), so `ProviderPolicies` plugs in as it is;
 * tests can pass a double. `saturated` optionally reports a full bulkhead.
 *
 * @module
 */

/** A circuit breaker's state. */
export type BreakerState = "closed" | "open" | "half_open";

/** Health of deployments by name. */
export interface DeploymentHealth {
  /**
   * Whether a call would be refused at once right now (open within its break, or half-open with its probe out).
   * A breaker whose break has elapsed reads as not open: the router then sends it the probe that can close it.
   */
  isOpen(deployment: string): boolean;
  /** The breaker state (`closed` for a deployment without a breaker yet). */
  state(deployment: string): BreakerState;
  /** Whether the deployment sheds calls right now (its bulkhead is full). */
  saturated?(deployment: string): boolean;
}

/** Health when no breakers exist: every deployment is closed. */
export const NO_BREAKERS: DeploymentHealth = {
  isOpen(): boolean {
    return false;
  },
  state(): BreakerState {
    return "closed";
  },
};
