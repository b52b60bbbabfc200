/**
 * Routing metrics per deployment: attempts and their latency and errors as the router observed them, and which
 * deployment each policy chose first.
 *
 * @module
 */
import type { Counter, Histogram, ObservableCounter } from "@opentelemetry/api";
import { LATENCY_BUCKETS_SECONDS, type Telemetry } from "../telemetry/telemetry.ts";

/** The routing instruments. */
export class RoutingMetrics {
  /** `amas_routing_requests_total{model,deployment,outcome}`: attempts on a deployment. */
  readonly requests: Counter;
  /** `amas_routing_errors_total{model,deployment,outcome}`: attempts that failed for the deployment's reasons. */
  readonly errors: Counter;
  /** `amas_routing_request_duration_seconds{model,deployment}`: attempt latency (streams: to the first chunk). */
  readonly duration: Histogram;
  /**
   * `amas_routing_selected_total{model,deployment,policy}`: times a deployment was the first choice. Observed from
   * the router's own tallies at collection time, so a decision costs an increment, not an attribute lookup.
   */
  readonly selected: ObservableCounter;

  constructor(telemetry: Telemetry) {
    const m = telemetry.meter;
    this.requests = m.createCounter("amas_routing_requests", {
      description: "upstream attempts per routed model and deployment, by outcome",
    });
    this.errors = m.createCounter("amas_routing_errors", {
      description: "failed upstream attempts per routed model and deployment (error, timeout, rate_limited, …)",
    });
    this.duration = m.createHistogram("amas_routing_request_duration_seconds", {
      description: "upstream attempt latency per deployment (streams: to the first chunk), seconds",
      unit: "s",
      advice: { explicitBucketBoundaries: LATENCY_BUCKETS_SECONDS },
    });
    this.selected = m.createObservableCounter("amas_routing_selected", {
      description: "routing decisions: the deployment a policy put first, per model",
    });
  }
}
