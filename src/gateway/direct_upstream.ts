/**
 * The plain upstream invoker: one call to the route's provider, timed and counted in
 * `amas_upstream_requests_total` / `amas_upstream_request_duration_seconds`. Resilience policies wrap it.
 *
 * @module
 */
import type { ChatCompletion, ChatCompletionChunk } from "./chat_schema.ts";
import type { ChatCall, UpstreamInvoker } from "./stages.ts";
import type { Route } from "../providers/registry.ts";
import { ProviderError } from "../providers/types.ts";
import type { GatewayMetrics } from "../telemetry/gateway_metrics.ts";

/** The outcome label of an upstream call. */
export function upstreamOutcome(err: unknown): string {
  if (err === undefined) return "ok";
  if (err instanceof ProviderError) {
    if (err.status === 429) return "rate_limited";
    if (err.status === 504) return "timeout";
    if (err.status === 0) return "connect_error";
    return err.status >= 500 ? "error" : "client_error";
  }
  if ((err as Error)?.name === "TimeoutError") return "timeout";
  if ((err as Error)?.name === "AbortError") return "cancelled";
  return "error";
}

/** Calls the provider once and records the attempt. */
export class DirectUpstream implements UpstreamInvoker {
  #metrics: GatewayMetrics;

  constructor(metrics: GatewayMetrics) {
    this.#metrics = metrics;
  }

  /** Calls the first route only; fallbacks are the resilience layer's business. */
  async complete(routes: Route[], call: ChatCall): Promise<{ completion: ChatCompletion; route: Route }> {
    const route = routes[0];
    const completion = await this.attempt(
      route,
      call,
      () => route.provider.complete(call.request, this.#options(route, call)),
    );
    return { completion, route };
  }

  /** Starts a stream on the first route only. */
  async stream(routes: Route[], call: ChatCall): Promise<{ chunks: AsyncIterable<ChatCompletionChunk>; route: Route }> {
    const route = routes[0];
    const chunks = await this.attempt(
      route,
      call,
      () => route.provider.stream(call.request, this.#options(route, call)),
    );
    return { chunks, route };
  }

  #options(route: Route, call: ChatCall) {
    return { signal: call.signal, upstreamModel: route.upstreamModel };
  }

  /** Runs one upstream attempt on `route`, adding its time to the call's upstream timing and to the metrics. */
  async attempt<T>(route: Route, call: ChatCall, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    let error: unknown;
    try {
      return await fn();
    } catch (err) {
      error = err;
      throw err;
    } finally {
      const ms = performance.now() - t0;
      call.timing.add("upstream", ms);
      const labels = { provider: route.provider.name, model: route.upstreamModel, outcome: upstreamOutcome(error) };
      this.#metrics.upstreamRequests.add(1, labels);
      this.#metrics.upstreamDuration.record(ms / 1000, labels);
    }
  }
}
