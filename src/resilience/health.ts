/**
 * Provider health as the circuit breakers see it: the stable, read-only view the router uses to steer calls away
 * from a provider whose breaker is open.
 *
 * @module
 */

/** The state of a provider's circuit breaker. */
export type BreakerState = "closed" | "open" | "half_open";

/** Read-only breaker health of the providers. */
export interface ProviderHealth {
  /**
   * Whether a call to the provider would be refused at once right now: its breaker is open and its break has
   * not elapsed, or it is half-open with its probe call still out. A provider whose break has elapsed reads as
   * not open, so that a router sends it the probe that can close it again.
   */
  isOpen(provider: string): boolean;
  /** The breaker state of a provider (`closed` for a provider that has not been called yet). */
  state(provider: string): BreakerState;
}

/** The numeric value of a state in the `amas_circuit_breaker_state` gauge: 0 closed, 1 half-open, 2 open. */
export function breakerStateValue(state: BreakerState): number {
  return state === "closed" ? 0 : state === "half_open" ? 1 : 2;
}
