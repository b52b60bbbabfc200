/**
 * The chat request path, stage by stage, in the order of docs/ARCHITECTURE.md: route → rate limit → budget →
 * cache lookup → single-flight → upstream (resilience policies behind the invoker) → cost → cache store.
 * HTTP concerns (auth, body limit, admission, headers) stay in `src/http`; this file decides what answers a call.
 *
 * @module
 */
import type { ChatCompletion, ChatCompletionChunk } from "./chat_schema.ts";
import { CompletionAssembler, completionToChunks } from "./completion_stream.ts";
import type {
  CacheHit,
  CacheStatus,
  ChatCall,
  CostRecord,
  CostTracker,
  Deduplicator,
  RateLimiter,
  RateLimitStatus,
  ResponseCache,
  Router,
  UpstreamAnswer,
  UpstreamInvoker,
} from "./stages.ts";
import type { Route } from "../providers/registry.ts";
import { requestKey } from "./request_key.ts";

/** The stages a `ChatService` runs; absent ones are skipped. */
export interface ChatStages {
  router: Router;
  upstream: UpstreamInvoker;
  limiter?: RateLimiter;
  cost?: CostTracker;
  cache?: ResponseCache;
  dedup?: Deduplicator;
}

/** What answered a call. */
export interface ChatOutcome {
  cache: CacheStatus;
  similarity?: number;
  /** The whole answer, when the client did not ask for a stream. */
  completion?: ChatCompletion;
  /** The answer's chunks, when the client asked for a stream. */
  chunks?: AsyncIterable<ChatCompletionChunk>;
  /** Known once the answer is complete: at once for JSON, when the stream ends for streams. */
  cost: Promise<CostRecord | undefined>;
  /** The route that answered (absent for cache hits). */
  route?: Route;
  /** The answer of a matching call in flight, waited for (`x-amas-cache-in-flight: true`). */
  inFlight?: boolean;
  /** A stale cache entry answered because every upstream failed (`x-amas-stale: true`). */
  stale?: boolean;
  /** What the rate limiter left the caller (`RateLimit-*` headers). */
  rateLimit?: RateLimitStatus;
}

/** Runs chat calls through the stages. */
export class ChatService {
  #stages: ChatStages;

  constructor(stages: ChatStages) {
    this.#stages = stages;
  }

  /** Answers one call. Throws `GatewayError`s for rejections; provider failures surface as `ProviderError`. */
  async handle(call: ChatCall): Promise<ChatOutcome> {
    const { router, limiter, cost, cache, dedup } = this.#stages;
    const routes = router.candidates(call);
    const rateLimit = (await limiter?.admit(call)) || undefined;
    await cost?.checkBudget(call);

    const servable = call.cacheMode !== "bypass" && call.cacheMode !== "refresh";
    const serveHit = (hit: CacheHit) => {
      const record = cost?.record(call, hit.completion, "cache");
      limiter?.settle?.(call, hit.completion);
      return this.#present(call, { kind: "completion", completion: hit.completion }, hit.kind, {
        similarity: hit.similarity,
        inFlight: hit.inFlight,
        cost: Promise.resolve(record),
        rateLimit,
      });
    };
    let key: string | undefined;
    const keyOf = () => key ??= requestKey(call);
    let late: Promise<CacheHit | null> | undefined;
    // Aborted when the upstream answer came first: the late lookup then no longer counts as served.
    const lateWanted = new AbortController();
    if (cache && servable) {
      const hit = await call.timing.measure("cache", () => cache.lookup(call));
      if (hit) return serveHit(hit);
      // A reworded repeat of a call in flight waits for that call's answer (semantic single-flight). An identical
      // one is left to the deduplicator, which hands the shared answer on as it streams.
      const joined = dedup?.has?.(keyOf()) ? undefined : cache.follow?.(call);
      if (joined) {
        const hit = await call.timing.measure("inflight", () => joined);
        if (hit) return serveHit(hit);
        call.signal.throwIfAborted();
      }
      late = cache.lateHit?.(call, lateWanted.signal);
    }

    // A lookup that ran out of time finishes while the upstream call runs: a late hit answers and cancels this
    // call's part of the upstream call (a shared call goes on for the other participants of the single-flight).
    const linked = late ? linkedAbort(call.signal) : undefined;
    const upstreamCall = linked ? { ...call, signal: linked.signal } : call;
    // The deduplicator may give the shared upstream call a signal of its own (not this client's).
    const leader = (signal?: AbortSignal) =>
      this.#callUpstream(routes, signal ? { ...upstreamCall, signal } : upstreamCall);
    const upstream = dedup
      ? dedup.run(keyOf(), upstreamCall, leader)
      : leader().then((answer) => ({ answer, shared: false }));
    // Calls waiting for this one's answer (semantic single-flight) go upstream themselves when it has none. Only a
    // call that looked the cache up can be waited for.
    const unanswered = () => cache?.done?.(call);
    if (cache && servable) upstream.catch(unanswered);
    if (late) {
      const lateHit = await Promise.race([upstream.then(() => null, () => null), late.catch(() => null)]);
      if (lateHit) {
        linked!.cancel();
        unanswered();
        return serveHit(lateHit);
      }
      lateWanted.abort();
    }
    const { answer, shared } = await upstream;
    const status: CacheStatus = call.cacheMode === "bypass" ? "bypass" : "miss";
    const route = answer.route ?? routes[0];
    const settle = (completion: ChatCompletion): CostRecord | undefined => {
      limiter?.settle?.(call, completion);
      // A stale answer came from the cache: no upstream spend, and storing it again would refresh a stale entry.
      if (answer.stale) {
        unanswered();
        return cost?.record(call, completion, "cache");
      }
      const record = cost?.record(call, completion, shared ? "dedup" : "upstream", route);
      // Only the leader stores: followers got the same answer, storing it again would be wasted work.
      if (!shared && cache && call.cacheMode !== "bypass") cache.store(call, completion, { costUsd: record?.costUsd });
      cache?.done?.(call, completion, { costUsd: shared ? undefined : record?.costUsd });
      return record;
    };
    return this.#present(call, answer, status, {
      route,
      settle,
      unsettled: unanswered,
      stale: answer.stale,
      rateLimit,
    });
  }

  async #callUpstream(routes: Route[], call: ChatCall): Promise<UpstreamAnswer> {
    const upstream = this.#stages.upstream;
    if (call.request.stream) {
      const { chunks, route, stale } = await upstream.stream(routes, call);
      return { kind: "stream", chunks, route, ...(stale ? { stale } : {}) };
    }
    const { completion, route, stale } = await upstream.complete(routes, call);
    return { kind: "completion", completion, route, ...(stale ? { stale } : {}) };
  }

  /** Shapes an answer into what the client asked for (JSON or stream) and settles cost/cache when it is whole. */
  #present(
    call: ChatCall,
    answer: UpstreamAnswer,
    cache: CacheStatus,
    extra: {
      similarity?: number;
      inFlight?: boolean;
      route?: Route;
      stale?: boolean;
      rateLimit?: RateLimitStatus;
      cost?: Promise<CostRecord | undefined>;
      settle?: (c: ChatCompletion) => CostRecord | undefined;
      /** The answer ended without a whole completion (a cut stream). */
      unsettled?: () => void;
    },
  ): Promise<ChatOutcome> | ChatOutcome {
    const base = {
      cache,
      similarity: extra.similarity,
      route: extra.route,
      ...(extra.inFlight ? { inFlight: true } : {}),
      ...(extra.stale ? { stale: true } : {}),
      ...(extra.rateLimit ? { rateLimit: extra.rateLimit } : {}),
    };
    if (answer.kind === "completion") {
      const cost = extra.cost ?? Promise.resolve(extra.settle?.(answer.completion));
      if (!call.request.stream) return { ...base, completion: answer.completion, cost };
      return { ...base, chunks: replay(answer.completion), cost };
    }
    if (call.request.stream) {
      let resolveCost!: (r: CostRecord | undefined) => void;
      const cost = new Promise<CostRecord | undefined>((r) => resolveCost = r);
      const chunks = settleWhenComplete(
        answer.chunks,
        (completion) => resolveCost(extra.settle?.(completion)),
        () => {
          resolveCost(undefined);
          extra.unsettled?.();
        },
      );
      return { ...base, chunks, cost };
    }
    // A non-streaming call that joined a streaming leader: wait for the whole answer.
    return collect(answer.chunks).then((completion) => ({
      ...base,
      completion,
      cost: Promise.resolve(extra.settle?.(completion)),
    }), (err) => {
      extra.unsettled?.();
      throw err;
    });
  }
}

/** An abort signal that follows `parent` and can also be cancelled on its own. */
function linkedAbort(parent: AbortSignal): { signal: AbortSignal; cancel(): void } {
  const controller = new AbortController();
  const follow = () => controller.abort(parent.reason);
  if (parent.aborted) follow();
  else parent.addEventListener("abort", follow, { once: true });
  return {
    signal: controller.signal,
    cancel: () => {
      parent.removeEventListener("abort", follow);
      controller.abort(new DOMException("answered from the cache", "AbortError"));
    },
  };
}

async function* replay(completion: ChatCompletion): AsyncGenerator<ChatCompletionChunk> {
  yield* completionToChunks(completion, { includeUsage: true });
}

/** Passes chunks through; calls `done` with the assembled completion only if the stream finished cleanly. */
async function* settleWhenComplete(
  chunks: AsyncIterable<ChatCompletionChunk>,
  done: (c: ChatCompletion) => void,
  failed: () => void,
): AsyncGenerator<ChatCompletionChunk> {
  const assembler = new CompletionAssembler();
  let clean = false;
  try {
    for await (const chunk of chunks) {
      assembler.add(chunk);
      yield chunk;
    }
    clean = assembler.finished;
  } finally {
    // Partial streams (client gone, upstream cut) are never priced as complete nor cached.
    if (clean) done(assembler.completion());
    else failed();
  }
}

async function collect(chunks: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletion> {
  const assembler = new CompletionAssembler();
  for await (const chunk of chunks) assembler.add(chunk);
  return assembler.completion();
}
