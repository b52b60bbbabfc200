/**
 * The resilient upstream invoker: tries the candidate routes in order (the router's pick, then its fallbacks,
 * or the configured `resilience.fallbacks` of the model when the router offers one route), each under its
 * provider's policy (retry → bulkhead → breaker → timeout), every attempt counted by `DirectUpstream.attempt` in
 * `amas_upstream_requests_total`. When every route failed for upstream reasons it serves the cache's stale entry
 * if there is one, else answers 503 (all circuits open) or the last upstream error.
 *
 * @module
 */
import type { ChatCompletion, ChatCompletionChunk } from "../gateway/chat_schema.ts";
import { completionToChunks } from "../gateway/completion_stream.ts";
import type { DirectUpstream } from "../gateway/direct_upstream.ts";
import type { CacheHit, ChatCall, UpstreamInvoker } from "../gateway/stages.ts";
import type { Route } from "../providers/registry.ts";
import { failureDomainOf } from "../providers/types.ts";
import { OverloadedError } from "../errors.ts";
import { BulkheadFullError, CircuitOpenError, isUpstreamFailure, type ProviderPolicies } from "./provider_policy.ts";

/** A source of stale answers (the response cache, when it keeps expired entries), for serve-stale-on-error. */
export interface StaleSource {
  /** A stored answer for this call even if expired, or null. Must never return another tenant's entry. */
  stale(call: ChatCall): Promise<CacheHit | null>;
}

/** What the invoker needs. */
export interface ResilientUpstreamOptions {
  direct: DirectUpstream;
  policies: ProviderPolicies;
  /** The configured fallback routes of a model (`resilience.fallbacks`), used when the router offers one route. */
  fallbacks?: (model: string) => Route[];
  /** The stale-answer source, looked up per call (the cache may be wired after the invoker). */
  stale?: () => StaleSource | undefined;
  /** Called when a call leaves a route for the next one. */
  onFallback?: (from: Route, reason: string) => void;
  /** Called when a stale entry answered. */
  onStale?: () => void;
}

/** An answer, marked when it came from a stale cache entry. */
interface Answered<T> {
  value: T;
  route: Route;
  stale?: boolean;
}

/** The invoker with retries, breakers, bulkheads, timeouts, fallbacks and serve-stale. */
export class ResilientUpstream implements UpstreamInvoker {
  #o: ResilientUpstreamOptions;

  constructor(options: ResilientUpstreamOptions) {
    this.#o = options;
  }

  /** Answers with one whole completion. */
  async complete(
    routes: Route[],
    call: ChatCall,
  ): Promise<{ completion: ChatCompletion; route: Route; stale?: boolean }> {
    const answer = await this.#run(
      routes,
      call,
      (route, signal) => route.provider.complete(call.request, { signal, upstreamModel: route.upstreamModel }),
      { stream: false },
      (hit) => hit.completion,
    );
    return { completion: answer.value, route: answer.route, ...(answer.stale ? { stale: true } : {}) };
  }

  /** Starts a stream; retries and fallbacks happen only before the upstream accepted (no byte sent yet). */
  async stream(
    routes: Route[],
    call: ChatCall,
  ): Promise<{ chunks: AsyncIterable<ChatCompletionChunk>; route: Route; stale?: boolean }> {
    const answer = await this.#run<AsyncIterable<ChatCompletionChunk>>(
      routes,
      call,
      (route, signal) => route.provider.stream(call.request, { signal, upstreamModel: route.upstreamModel }),
      { stream: true },
      (hit) => replay(completionToChunks(hit.completion, { includeUsage: true })),
    );
    return { chunks: answer.value, route: answer.route, ...(answer.stale ? { stale: true } : {}) };
  }

  /** The routes a call may try, best first, without repeats. */
  chain(routes: Route[], call: ChatCall): Route[] {
    const all = routes.length > 1 || !this.#o.fallbacks
      ? routes
      : [...routes, ...this.#o.fallbacks(call.request.model)];
    const seen = new Set<string>();
    return all.filter((r) => {
      const id = `${r.provider.name}\u0000${r.upstreamModel}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
  }

  async #run<T>(
    routes: Route[],
    call: ChatCall,
    invoke: (route: Route, signal: AbortSignal) => Promise<T>,
    options: { stream: boolean },
    fromStale: (hit: CacheHit) => T,
  ): Promise<Answered<T>> {
    const chain = this.chain(routes, call);
    const errors: unknown[] = [];
    for (const [i, route] of chain.entries()) {
      const policy = this.#o.policies.for(failureDomainOf(route));
      try {
        const value = await policy.execute(
          call.signal,
          (signal) => this.#o.direct.attempt(route, call, () => invoke(route, signal)),
          options,
        );
        return { value, route };
      } catch (err) {
        // A client's mistake (4xx) or a client gone: no other route would do better.
        if (call.signal.aborted || !isUpstreamFailure(err)) throw err;
        errors.push(err);
        if (i < chain.length - 1) this.#o.onFallback?.(route, reasonOf(err));
      }
    }
    const staleSource = this.#o.stale?.();
    if (staleSource) {
      const hit = await staleSource.stale(call).catch(() => null);
      if (hit) {
        this.#o.onStale?.();
        return { value: fromStale(hit), route: chain[0], stale: true };
      }
    }
    throw finalError(call.request.model, chain, errors);
  }
}

async function* replay(chunks: ChatCompletionChunk[]): AsyncGenerator<ChatCompletionChunk> {
  yield* chunks;
}

function reasonOf(err: unknown): string {
  if (err instanceof CircuitOpenError) return "circuit_open";
  if (err instanceof BulkheadFullError) return "bulkhead_full";
  return "upstream_error";
}

/** Every route refused at once → 503 with the time until a breaker probes again; else the last upstream error. */
function finalError(model: string, chain: Route[], errors: unknown[]): unknown {
  const refused = errors.every((e) => e instanceof CircuitOpenError || e instanceof BulkheadFullError);
  if (!refused) return errors[errors.length - 1];
  const waits = errors.map((e) => e instanceof CircuitOpenError ? e.retryAfterMs : 1000);
  const retryAfterSeconds = Math.max(1, Math.ceil(Math.min(...waits) / 1000));
  const providers = [...new Set(chain.map(failureDomainOf))].join(", ");
  return new OverloadedError(
    `every upstream for model ${model} is unavailable (${providers}: circuit open or at capacity); ` +
      `retry after ${retryAfterSeconds} s`,
    { code: "upstream_unavailable", retryAfterSeconds },
  );
}
