/**
 * The `Provider` seam: anything that can answer an OpenAI chat-completions request. The gateway calls providers
 * only through this interface, wrapped in the resilience policies.
 *
 * @module
 */
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from "../gateway/chat_schema.ts";

/** Per-call options. */
export interface CallOptions {
  /** Aborts the upstream call (client gone, timeout, shutdown). */
  signal: AbortSignal;
  /** The model name the upstream knows (after routing renamed it). */
  upstreamModel: string;
}

/** An upstream that answers chat completions. */
export interface Provider {
  /** Stable name used in metrics, breakers and routing. */
  readonly name: string;
  /** Answers a request with one whole completion. */
  complete(request: ChatRequest, options: CallOptions): Promise<ChatCompletion>;
  /**
   * Starts a streamed answer, ending with a usage chunk (`choices: []`) where the upstream can report one; the
   * gateway drops that chunk for clients that did not ask for it. The promise settles once the upstream has
   * accepted the call (status known), so a failure before the first byte can still be retried; the iterable then
   * yields chunks as they arrive.
   */
  stream(request: ChatRequest, options: CallOptions): Promise<AsyncIterable<ChatCompletionChunk>>;
  /**
   * What fails together: `provider` (the default: one upstream, one breaker and bulkhead for all its models) or
   * `model` (each model is an independent upstream, like the simulator's models, so each gets its own).
   */
  readonly failureDomain?: "provider" | "model";
  /** Releases pooled connections. */
  close?(): Promise<void> | void;
}

/** The name of a route's failure domain: the key of its breaker and bulkhead, and its `provider` metric label. */
export function failureDomainOf(route: { provider: Provider; upstreamModel: string }): string {
  return route.provider.failureDomain === "model"
    ? `${route.provider.name}/${route.upstreamModel}`
    : route.provider.name;
}

/** An upstream failure, classified so that retry and breaker policies can decide what to do with it. */
export class ProviderError extends Error {
  override name = "ProviderError";
  /** HTTP status from the upstream; 0 for a connection failure, 504 for a timeout. */
  readonly status: number;
  /** Whether trying again may succeed (connect errors, 429, 5xx, timeouts). */
  readonly retryable: boolean;
  /** The upstream's `Retry-After`, in milliseconds. */
  readonly retryAfterMs?: number;
  /** The upstream's error body, safe to show to the client for 4xx answers. */
  readonly upstreamMessage?: string;

  constructor(
    message: string,
    options: { status: number; retryable?: boolean; retryAfterMs?: number; upstreamMessage?: string; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.status = options.status;
    this.retryable = options.retryable ?? (options.status === 0 || options.status === 429 || options.status >= 500);
    this.retryAfterMs = options.retryAfterMs;
    this.upstreamMessage = options.upstreamMessage;
  }
}

/** Parses a `Retry-After` header (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}
