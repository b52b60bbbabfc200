/**
 * Counts every request by route, method, status and agent, times it to the response headers, and keeps the
 * in-flight gauge up to date until the body is done.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { GatewayEnv } from "../context.ts";
import type { GatewayMetrics } from "../../telemetry/gateway_metrics.ts";

/** Records HTTP request metrics. */
export function requestMetrics(metrics: GatewayMetrics): MiddlewareHandler<GatewayEnv> {
  return async function requestMetrics(c, next) {
    const t0 = performance.now();
    metrics.inFlight.add(1);
    c.get("onBodyDone").push(() => metrics.inFlight.add(-1));
    try {
      await next();
    } finally {
      const route = c.req.routePath && c.req.routePath !== "/*" && c.req.routePath !== "*"
        ? c.req.routePath
        : "unmatched";
      const labels = {
        route,
        method: c.req.method,
        status: String(c.res.status),
        agent: metrics.agents.label(c.get("agentId") ?? "none"),
      };
      metrics.httpRequests.add(1, labels);
      metrics.httpDuration.record((performance.now() - t0) / 1000, labels);
    }
  };
}
