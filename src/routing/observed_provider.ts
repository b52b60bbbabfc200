/**
 * A provider decorator that feeds the router: every attempt on a deployment (whoever makes it: the router's pick,
 * a retry, a fallback) updates the deployment's latency estimate, error rate and calls in flight, and the routing
 * metrics. It keeps the deployment's name, so breakers keyed by provider name are unaffected.
 *
 * @module
 */
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from "../gateway/chat_schema.ts";
import { upstreamOutcome } from "../gateway/direct_upstream.ts";
import type { CallOptions, Provider } from "../providers/types.ts";
import type { CallKind, DeploymentStats } from "./latency.ts";
import type { RoutingMetrics } from "./metrics.ts";

/** Outcomes that are the deployment's fault: they count as errors and as slow (`errorPenaltyMs`). */
const FAULTS = new Set(["error", "timeout", "connect_error", "rate_limited", "stream_error"]);

/** What an {@linkcode ObservedProvider} reports to. */
export interface ObserverOptions {
  /** The routed model name (metric label). */
  model: string;
  stats: DeploymentStats;
  metrics?: RoutingMetrics;
  /** Latency recorded for a failed attempt when it failed faster than this, ms. */
  errorPenaltyMs: number;
  now: () => number;
}

/** A deployment's provider, observed. */
export class ObservedProvider implements Provider {
  readonly name: string;
  readonly inner: Provider;
  #o: ObserverOptions;
  #labels: { model: string; deployment: string };

  constructor(inner: Provider, options: ObserverOptions) {
    this.name = inner.name;
    this.inner = inner;
    this.#o = options;
    this.#labels = { model: options.model, deployment: inner.name };
  }

  async complete(request: ChatRequest, options: CallOptions): Promise<ChatCompletion> {
    const t0 = this.#start();
    try {
      const completion = await this.inner.complete(request, options);
      this.#finish(t0, undefined, "json");
      return completion;
    } catch (err) {
      this.#finish(t0, err, "json");
      throw err;
    } finally {
      this.#o.stats.inFlight--;
    }
  }

  async stream(request: ChatRequest, options: CallOptions): Promise<AsyncIterable<ChatCompletionChunk>> {
    const t0 = this.#start();
    let chunks: AsyncIterable<ChatCompletionChunk>;
    try {
      chunks = await this.inner.stream(request, options);
    } catch (err) {
      this.#o.stats.inFlight--;
      this.#finish(t0, err, "stream");
      throw err;
    }
    this.#finish(t0, undefined, "stream");
    // The deployment is busy until the last chunk: release the in-flight slot then, or when the call is
    // cancelled before anyone iterates, whichever comes first (once).
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#o.stats.inFlight--;
      options.signal.removeEventListener("abort", release);
    };
    options.signal.addEventListener("abort", release, { once: true });
    return this.#track(chunks, options.signal, release);
  }

  async *#track(
    chunks: AsyncIterable<ChatCompletionChunk>,
    signal: AbortSignal,
    release: () => void,
  ): AsyncGenerator<ChatCompletionChunk> {
    try {
      yield* chunks;
    } catch (err) {
      if (!signal.aborted) this.#fault("stream_error");
      throw err;
    } finally {
      release();
    }
  }

  close(): Promise<void> | void {
    return this.inner.close?.();
  }

  #start(): number {
    this.#o.stats.inFlight++;
    return this.#o.now();
  }

  #finish(t0: number, err: unknown, kind: CallKind): void {
    const now = this.#o.now();
    const ms = now - t0;
    const outcome = upstreamOutcome(err);
    const { metrics, stats } = this.#o;
    stats.requests++;
    metrics?.requests.add(1, { ...this.#labels, outcome });
    if (outcome === "ok") {
      stats.observe(ms, false, now, kind);
      metrics?.duration.record(ms / 1000, this.#labels);
    } else if (FAULTS.has(outcome)) {
      stats.errors++;
      stats.observe(Math.max(ms, this.#o.errorPenaltyMs), true, now, kind);
      metrics?.duration.record(ms / 1000, this.#labels);
      metrics?.errors.add(1, { ...this.#labels, outcome });
    }
    // A cancelled call or the client's own mistake (4xx) says nothing about the deployment.
  }

  #fault(outcome: string): void {
    this.#o.stats.errors++;
    this.#o.stats.observe(this.#o.errorPenaltyMs, true, this.#o.now(), "stream");
    this.#o.metrics?.errors.add(1, { ...this.#labels, outcome });
  }
}
