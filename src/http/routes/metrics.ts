/**
 * `GET /metrics`: the Prometheus text exposition of every OpenTelemetry instrument.
 *
 * @module
 */
import type { Context } from "hono";
import type { Telemetry } from "../../telemetry/telemetry.ts";

/** Serves the metrics. */
export function metrics(telemetry: Telemetry) {
  return async function metrics(c: Context): Promise<Response> {
    return c.body(await telemetry.prometheusText(), 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
    });
  };
}
