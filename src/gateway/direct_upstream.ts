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

  complete(route: Route, call: ChatCall): Promise<ChatCompletion> {
    return this.#attempt(route, call, () => route.provider.complete(call.request, this.#options(route, call)));
  }

  stream(route: Route, call: ChatCall): Promise<AsyncIterable<ChatCompletionChunk>> {
    return this.#attempt(route, call, () => route.provider.stream(call.request, this.#options(route, call)));
  }

  #options(route: Route, call: ChatCall) {
    return { signal: call.signal, upstreamModel: route.upstreamModel };
  }

  async #attempt<T>(route: Route, call: ChatCall, fn: () => Promise<T>): Promise<T> {
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
