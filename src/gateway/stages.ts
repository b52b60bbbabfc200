/**
 * The seams of the chat request path. Each stage is an interface with a default that does nothing (or calls the
 * provider directly); the features (cache, resilience, cost, routing) provide the real implementations and
 * `src/main.ts` wires them. `ChatService` runs the stages in the order of docs/ARCHITECTURE.md.
 *
 * @module
 */
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from "./chat_schema.ts";
import type { Timing } from "./timing.ts";
import type { Route } from "../providers/registry.ts";

/** What the client asked of the cache (`x-amas-cache` request header). */
export type CacheMode = "default" | "bypass" | "refresh" | "exact-only";

/** How the response was produced (`x-amas-cache` response header). */
export type CacheStatus = "miss" | "exact" | "semantic" | "bypass";

/** One chat request travelling through the stages. */
export interface ChatCall {
  request: ChatRequest;
  tenant: string;
  agentId: string;
  cacheMode: CacheMode;
  requestId: string;
  /** Aborted when the client goes away or the gateway shuts down past its grace period. */
  signal: AbortSignal;
  timing: Timing;
}

/** A cached answer found for a call. */
export interface CacheHit {
  kind: "exact" | "semantic";
  completion: ChatCompletion;
  /** Cosine similarity of a semantic hit. */
  similarity?: number;
  entryId: string;
  /** The answer of a matching call that was in flight upstream, waited for (semantic single-flight). */
  inFlight?: boolean;
}

/** The response cache. */
export interface ResponseCache {
  /** A stored answer this call may be served, or null. Must never return another tenant's entry. */
  lookup(call: ChatCall): Promise<CacheHit | null>;
  /**
   * Stores a clean, complete answer (write-behind; must not throw). `meta.costUsd` is what the upstream call cost,
   * so later hits can count the money they save.
   */
  store(call: ChatCall, completion: ChatCompletion, meta?: { costUsd?: number }): void;
  /**
   * After a `lookup` that missed only because its time budget ran out (the embedder was busy): the hit that
   * lookup finds once it can finish, or null. The caller goes upstream meanwhile and serves whichever answers
   * first. Undefined when there is nothing late to wait for; asked at most once per call. Once `wanted` is
   * aborted (the upstream answer came first) a late hit is no longer served, nor counted as one.
   */
  lateHit?(call: ChatCall, wanted?: AbortSignal): Promise<CacheHit | null> | undefined;
  /**
   * Semantic single-flight, asked once right after a `lookup` that missed. When a call of the same scope whose
   * prompt this call could be served for (the same threshold and verifier as a hit) is in flight upstream: the
   * promise of its answer as a hit (`inFlight`), or of null once that call ended without an answer to store, the
   * wait reached its bound, or this call was aborted; the caller then goes upstream itself (its `lateHit` may
   * still take the other call's answer). Otherwise undefined. Unless aborted, a call that goes upstream is
   * registered as in flight for others to join until `done`.
   */
  follow?(call: ChatCall): Promise<CacheHit | null> | undefined;
  /**
   * The call's upstream part ended: with the clean, complete answer it got (whatever waits for it gets it), or
   * without one (failed, cancelled, partial, stale). Must not throw; calling it again does nothing.
   */
  done?(call: ChatCall, completion?: ChatCompletion, meta?: { costUsd?: number }): void;
}

/** The tightest limit an admitted call counted against, for the `RateLimit-*` response headers. */
export interface RateLimitStatus {
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
  /** `RateLimit-Policy`, e.g. `100;w=60`. */
  policy?: string;
}

/** Rate limits per tenant and agent; throws a `RateLimitError` to reject, may report what is left when it admits. */
export interface RateLimiter {
  admit(call: ChatCall): Promise<void | RateLimitStatus>;
  /** Corrects the up-front token estimate of an admitted call with the answer's reported usage (must not throw). */
  settle?(call: ChatCall, completion: ChatCompletion): void;
}

/** How a completion was obtained, for cost accounting. */
export type CostSource = "upstream" | "cache" | "dedup";

/** What one request cost. */
export interface CostRecord {
  costUsd: number;
  /** Tokens were estimated with a tokenizer because the upstream reported no usage. */
  estimated: boolean;
  /** Money not spent because the answer came from the cache or a shared call. */
  savedUsd: number;
  /** No price is known for the model: `costUsd` is 0 for want of a price, not because the call was free. */
  unpriced?: boolean;
}

/** Cost accounting and budgets. */
export interface CostTracker {
  /** Throws when a hard budget of the call's tenant or agent is exhausted. */
  checkBudget(call: ChatCall): Promise<void>;
  /** Records a finished request and returns its cost. */
  record(call: ChatCall, completion: ChatCompletion, source: CostSource, route?: Route): CostRecord;
}

/**
 * Calls the upstream for a call, given the candidate routes in the router's order of preference (the first is
 * the pick, the rest the fallback chain). Resilience policies (retry, breaker, timeout, bulkhead, fallback) live
 * behind this seam. Resolves with the answer and the route that produced it.
 */
export interface UpstreamInvoker {
  /** `stale` is set when every upstream failed and a stale cache entry answered instead (serve-stale-on-error). */
  complete(routes: Route[], call: ChatCall): Promise<{ completion: ChatCompletion; route: Route; stale?: boolean }>;
  stream(
    routes: Route[],
    call: ChatCall,
  ): Promise<{ chunks: AsyncIterable<ChatCompletionChunk>; route: Route; stale?: boolean }>;
}

/**
 * The upstream answer of a call, whole or streamed, with the route that produced it when it came from upstream;
 * `stale` when a stale cache entry answered because every upstream failed.
 */
export type UpstreamAnswer =
  | { kind: "completion"; completion: ChatCompletion; route?: Route; stale?: boolean }
  | { kind: "stream"; chunks: AsyncIterable<ChatCompletionChunk>; route?: Route; stale?: boolean };

/**
 * Single-flight: identical in-flight calls (same key) share one upstream answer. `run` calls `leader` for the
 * first call of a key and gives every follower the same answer (streams replayed to each). A deduplicator may
 * pass `leader` a signal of the shared call's own, so that one client going away does not cancel it for others.
 */
export interface Deduplicator {
  run(key: string, call: ChatCall, leader: (signal?: AbortSignal) => Promise<UpstreamAnswer>): Promise<
    { answer: UpstreamAnswer; shared: boolean }
  >;
  /** Whether a call of this key is in flight (a `run` now would join it). */
  has?(key: string): boolean;
}

/**
 * Resolves a call's model to the routes that may answer it, best first (a non-empty list); throws a 404
 * `NotFoundError` for a model nothing serves. Routing policies (weighted, least-latency, cost-aware) live here.
 */
export interface Router {
  candidates(call: ChatCall): Route[];
}
