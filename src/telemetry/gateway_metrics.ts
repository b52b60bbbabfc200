/**
 * The foundation's instruments: HTTP requests and their duration, requests in flight, upstream calls and their
 * duration. Features create their own instruments from `Telemetry.meter` beside their code.
 *
 * @module
 */
import type { Counter, Histogram } from "@opentelemetry/api";
import { LabelLimiter, LATENCY_BUCKETS_SECONDS, type Telemetry } from "./telemetry.ts";

/** HTTP and upstream metrics. */
export class GatewayMetrics {
  readonly httpRequests: Counter;
  readonly httpDuration: Histogram;
  /**
   * HTTP requests being processed. A plain number read when metrics are collected: an OpenTelemetry
   * `UpDownCounter` would cost two attribute-hashing records on every request's path.
   */
  inFlight = 0;
  readonly upstreamRequests: Counter;
  readonly upstreamDuration: Histogram;
  /** Bounds the agent label's values. */
  readonly agents = new LabelLimiter(200);

  constructor(telemetry: Telemetry) {
    const m = telemetry.meter;
    this.httpRequests = m.createCounter("amas_http_requests", {
      description: "HTTP requests answered, by route, method, status and agent",
    });
    this.httpDuration = m.createHistogram("amas_http_request_duration_seconds", {
      description: "time from request to response headers (streams: to the first byte), seconds",
      unit: "s",
      advice: { explicitBucketBoundaries: LATENCY_BUCKETS_SECONDS },
    });
    m.createObservableUpDownCounter("amas_http_requests_in_flight", {
      description: "HTTP requests being processed, streams until their last byte",
    }).addCallback((r) => r.observe(this.inFlight));
    this.upstreamRequests = m.createCounter("amas_upstream_requests", {
      description: "calls to upstream providers, by provider, model and outcome (ok, error, timeout, rate_limited)",
    });
    this.upstreamDuration = m.createHistogram("amas_upstream_request_duration_seconds", {
      description: "upstream call time (streams: to the first chunk), seconds",
      unit: "s",
      advice: { explicitBucketBoundaries: LATENCY_BUCKETS_SECONDS },
    });
  }
}
