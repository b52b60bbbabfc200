/**
 * OpenTelemetry wiring: a MeterProvider whose reader is a Prometheus exporter that never starts its own server
 * (the Hono app serves `/metrics`), and, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, a TracerProvider exporting
 * spans over OTLP/HTTP. Providers are passed explicitly, never registered globally, so Deno's built-in OTel or
 * another library cannot take them over.
 *
 * @module
 */
import type { Meter, TracerProvider as ApiTracerProvider } from "@opentelemetry/api";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";

/** Options for {@linkcode createTelemetry}. */
export interface TelemetryOptions {
  serviceName: string;
  /** OTLP/HTTP base endpoint; traces are exported to `<endpoint>/v1/traces` when set. */
  otlpEndpoint?: string;
}

/** The process's telemetry: the meter every feature creates its instruments from, and the exposition. */
export class Telemetry {
  readonly meter: Meter;
  readonly tracerProvider?: ApiTracerProvider;
  #meterProvider: MeterProvider;
  #exporter: PrometheusExporter;
  #serializer = new PrometheusSerializer(undefined, false, undefined, true, true);
  #spanProvider?: TracerProvider;

  constructor(options: TelemetryOptions) {
    const resource = resourceFromAttributes({ "service.name": options.serviceName });
    this.#exporter = new PrometheusExporter({
      preventServerStart: true,
      withoutScopeInfo: true,
      withoutTargetInfo: true,
    });
    this.#meterProvider = new MeterProvider({ resource, readers: [this.#exporter] });
    this.meter = this.#meterProvider.getMeter("amas-gateway");
    if (options.otlpEndpoint) {
      const exporter = new OTLPTraceExporter({ url: `${options.otlpEndpoint.replace(/\/+$/, "")}/v1/traces` });
      this.#spanProvider = new TracerProvider({ resource, spanProcessors: [new BatchSpanProcessor({ exporter })] });
      this.tracerProvider = this.#spanProvider;
    }
  }

  /** The Prometheus text exposition of every metric. */
  async prometheusText(): Promise<string> {
    const { resourceMetrics, errors } = await this.#exporter.collect();
    if (errors.length) console.error(JSON.stringify({ level: "warn", msg: "metric collection errors", errors }));
    return this.#serializer.serialize(resourceMetrics);
  }

  /** Flushes spans and stops the providers. */
  async shutdown(): Promise<void> {
    await this.#spanProvider?.shutdown().catch(() => {});
    await this.#meterProvider.shutdown().catch(() => {});
  }
}

/** Latency buckets in seconds from 1 ms to 60 s: fine where the gateway lives, coarse where upstreams live. */
export const LATENCY_BUCKETS_SECONDS = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  0.75,
  1,
  1.5,
  2.5,
  5,
  10,
  30,
  60,
];

/**
 * Caps the distinct values a client-chosen label (like the agent id) may take, so a caller cannot grow the metric
 * series without bound; values past the cap are reported as `other`.
 */
export class LabelLimiter {
  #seen = new Set<string>();
  #max: number;

  constructor(max = 200) {
    this.#max = max;
  }

  /** The value to report for `value`. */
  label(value: string): string {
    if (this.#seen.has(value)) return value;
    if (this.#seen.size >= this.#max) return "other";
    this.#seen.add(value);
    return value;
  }
}
