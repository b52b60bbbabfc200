/**
 * Counts every request by route, method, status and agent, times it to the response headers, and keeps the
 * in-flight gauge up to date until the body is done.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import type { GatewayEnv } from "../context.ts";
import type { GatewayMetrics } from "../../telemetry/gateway_metrics.ts";

/**
 * The `route` label: the matched route pattern, or `unmatched`. Hono's `routePath` maps over every matched handler
 * on each call (measured ~7 µs and ~5 KB a request), so the label of a static route (its pattern is the path) is
 * remembered per method, handler index and path; the set of such keys is bounded by the app's routes. Paths with
 * parameters and unmatched paths are computed each time and never remembered (a client chooses them).
 */
function routeLabeler(): (c: Context<GatewayEnv>) => string {
  const known = new Map<string, string>();
  return (c) => {
    const key = `${c.req.method} ${c.req.routeIndex} ${c.req.path}`;
    const hit = known.get(key);
    if (hit !== undefined) return hit;
    const path = c.req.routePath;
    if (!path || path === "/*" || path === "*") return "unmatched";
    if (path === c.req.path) known.set(key, path);
    return path;
  };
}

/** Records HTTP request metrics. */
export function requestMetrics(metrics: GatewayMetrics): MiddlewareHandler<GatewayEnv> {
  const routeOf = routeLabeler();
  return async function requestMetrics(c, next) {
    const t0 = performance.now();
    metrics.inFlight++;
    c.get("onBodyDone").push(() => metrics.inFlight--);
    try {
      await next();
    } finally {
      const labels = {
        route: routeOf(c),
        method: c.req.method,
        status: String(c.res.status),
        agent: metrics.agents.label(c.get("agentId") ?? "none"),
      };
      metrics.httpRequests.add(1, labels);
      metrics.httpDuration.record((performance.now() - t0) / 1000, labels);
    }
  };
}
