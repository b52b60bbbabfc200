/**
 * The resilience instruments: breaker state and transitions, retries, fallbacks, stale answers, rate-limit
 * rejections, dedup joins. Admission's gauges and shed counter are created in `src/wiring.ts` beside the
 * controller, since KEDA scales on them whether or not the rest of resilience is on.
 *
 * @module
 */
import type { Counter } from "@opentelemetry/api";
import type { Telemetry } from "../telemetry/telemetry.ts";

/** Counters the resilience stages add to. */
export class ResilienceMetrics {
  readonly breakerTransitions: Counter;
  readonly retries: Counter;
  readonly fallbacks: Counter;
  readonly staleServed: Counter;
  readonly rateLimitRejections: Counter;
  readonly rateLimitDegraded: Counter;
  readonly dedupJoins: Counter;
  readonly bulkheadRejections: Counter;

  constructor(telemetry: Telemetry) {
    const m = telemetry.meter;
    this.breakerTransitions = m.createCounter("amas_circuit_breaker_transitions", {
      description: "circuit breaker state changes, by provider, from and to (closed, half_open, open)",
    });
    this.retries = m.createCounter("amas_upstream_retries", {
      description: "upstream attempts retried, by provider and the outcome that caused the retry",
    });
    this.fallbacks = m.createCounter("amas_upstream_fallbacks", {
      description: "calls that moved to the next route of the fallback chain, by provider left and reason",
    });
    this.staleServed = m.createCounter("amas_stale_served", {
      description: "answers served from a stale cache entry because every upstream failed",
    });
    this.rateLimitRejections = m.createCounter("amas_rate_limit_rejections", {
      description: "requests rejected with 429 by the gateway's own limits, by reason",
    });
    this.rateLimitDegraded = m.createCounter("amas_rate_limit_degraded", {
      description: "rate-limit decisions taken by the local limiter because Redis did not answer in time",
    });
    this.dedupJoins = m.createCounter("amas_dedup_joins", {
      description: "requests that joined an identical in-flight upstream call instead of making their own",
    });
    this.bulkheadRejections = m.createCounter("amas_bulkhead_rejections", {
      description: "upstream calls refused by a provider's bulkhead (full, or waited too long), by provider",
    });
  }
}
