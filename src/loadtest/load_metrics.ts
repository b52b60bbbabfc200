/**
 * The seed's load-test metrics, exported while a run is going: `amas_load_test_requests_total` and
 * `amas_load_test_request_duration_seconds` through an OpenTelemetry meter (the gateway's own `Telemetry`
 * class), served as Prometheus text on `--metrics-port` so a Prometheus or Grafana next to the target can show
 * the load beside the gateway's metrics.
 *
 * @module
 */
import type { Counter, Histogram } from "@opentelemetry/api";
import { LabelLimiter, LATENCY_BUCKETS_SECONDS, Telemetry } from "../telemetry/telemetry.ts";
import type { Sample } from "./recorder.ts";

/** A running exporter of the load-test metrics. */
export class LoadMetrics {
  readonly telemetry: Telemetry;
  readonly url: string;
  #requests: Counter;
  #duration: Histogram;
  #server: Deno.HttpServer;
  #agents = new LabelLimiter(50);
  #scenario: string;

  private constructor(telemetry: Telemetry, server: Deno.HttpServer, scenario: string) {
    this.telemetry = telemetry;
    this.#server = server;
    this.#scenario = scenario;
    const addr = server.addr as Deno.NetAddr;
    this.url = `http://${addr.hostname}:${addr.port}/metrics`;
    this.#requests = telemetry.meter.createCounter("amas_load_test_requests", {
      description: "requests sent by the load generator, by scenario, status, cache kind and agent",
    });
    this.#duration = telemetry.meter.createHistogram("amas_load_test_request_duration_seconds", {
      description: "load-test request latency from the intended send time, seconds",
      unit: "s",
      advice: { explicitBucketBoundaries: LATENCY_BUCKETS_SECONDS },
    });
  }

  /** Starts the exposition on 127.0.0.1:`port` (0 picks a free port). */
  static start(port: number, scenario: string): LoadMetrics {
    const telemetry = new Telemetry({ serviceName: "amas-loadtest" });
    const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
      if (new URL(req.url).pathname !== "/metrics") return new Response("not found: try /metrics\n", { status: 404 });
      return new Response(await telemetry.prometheusText(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    });
    return new LoadMetrics(telemetry, server, scenario);
  }

  /** Records one finished request. */
  record(sample: Sample): void {
    const attrs = {
      scenario: this.#scenario,
      status: String(sample.status || sample.error || "error"),
      cache: sample.cache ?? "none",
      agent: this.#agents.label(sample.agent ?? "none"),
    };
    this.#requests.add(1, attrs);
    this.#duration.record(sample.latencyMs / 1000, attrs);
  }

  /** Stops the exposition. */
  async stop(): Promise<void> {
    await this.#server.shutdown();
    await this.telemetry.shutdown();
  }
}
