/**
 * The upstream policy of one provider, built from cockatiel: retry (exponential backoff with full jitter that
 * honours `Retry-After`) around a bulkhead (bounded concurrency and a bounded, time-limited wait queue) around a
 * circuit breaker (consecutive failures OR sampled failure rate, one half-open probe) around a per-attempt
 * timeout. Every attempt reaches the breaker, so a failing provider is cut off within `consecutiveFailures`
 * attempts, and retries stop as soon as it opens (the caller moves on to its fallback).
 *
 * @module
 */
import {
  BrokenCircuitError,
  bulkhead,
  BulkheadPolicy,
  BulkheadRejectedError,
  circuitBreaker,
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  DelegateBackoff,
  handleWhen,
  type IBreaker,
  retry,
  type RetryPolicy,
  SamplingBreaker,
} from "cockatiel";
import { ProviderError } from "../providers/types.ts";
import { upstreamOutcome } from "../gateway/direct_upstream.ts";
import type { ProviderPolicyConfig } from "./config.ts";
import type { BreakerState, ProviderHealth } from "./health.ts";
import { Deadlines } from "./deadlines.ts";

/** What a policy reports to its owner (metrics). */
export interface PolicyHooks {
  onTransition?(provider: string, from: BreakerState, to: BreakerState): void;
  onRetry?(provider: string, outcome: string): void;
  onBulkheadReject?(provider: string, reason: "full" | "wait"): void;
}

/** Refused because the provider's circuit is open (or its half-open probe is still out). */
export class CircuitOpenError extends BrokenCircuitError {
  override name = "CircuitOpenError";
  /** Milliseconds until the breaker lets a probe through. */
  readonly retryAfterMs: number;
  constructor(provider: string, retryAfterMs: number) {
    super(`the circuit of provider ${provider} is open`);
    this.retryAfterMs = retryAfterMs;
  }
}

/** Refused by the provider's bulkhead: too many calls in flight and the wait queue full or waited too long. */
export class BulkheadFullError extends BulkheadRejectedError {
  override name = "BulkheadFullError";
  constructor(readonly provider: string, readonly reason: "full" | "wait", limit: number, queue: number) {
    super(limit, queue);
    this.message = `provider ${provider} has ${limit} calls in flight and its queue is ${
      reason === "full" ? "full" : "too slow"
    }`;
  }
}

/** Whether a failure says the provider is unwell (opens the breaker), as opposed to the caller's problem. */
export function isOutage(err: unknown, countRateLimited = false): boolean {
  if (!(err instanceof ProviderError)) return false;
  if (err.status === 429) return countRateLimited;
  return err.status === 0 || err.status >= 500;
}

/** Whether another route may succeed where this failure happened (fallback chain, serve-stale). */
export function isUpstreamFailure(err: unknown): boolean {
  if (err instanceof BrokenCircuitError || err instanceof BulkheadRejectedError) return true;
  return err instanceof ProviderError && (err.status === 0 || err.status === 429 || err.status >= 500);
}

/** Opens when either breaker would: many failures in a row, or a high failure rate under real traffic. */
class EitherBreaker implements IBreaker {
  #consecutive: ConsecutiveBreaker;
  #sampling: SamplingBreaker;

  constructor(config: ProviderPolicyConfig["breaker"]) {
    this.#consecutive = new ConsecutiveBreaker(config.consecutiveFailures);
    this.#sampling = new SamplingBreaker({
      threshold: Math.min(0.999, Math.max(0.001, config.failureRateThreshold)),
      duration: config.samplingWindowMs,
      minimumRps: config.minimumRps,
    });
  }

  get state(): unknown {
    return { consecutive: this.#consecutive.state, sampling: this.#sampling.state };
  }

  set state(value: unknown) {
    const v = value as { consecutive: number; sampling: unknown };
    this.#consecutive.state = v.consecutive;
    this.#sampling.state = v.sampling;
  }

  success(state: CircuitState): void {
    this.#consecutive.success();
    this.#sampling.success(state);
  }

  failure(state: CircuitState): boolean {
    const a = this.#consecutive.failure();
    const b = this.#sampling.failure(state);
    return a || b;
  }
}

function stateName(state: CircuitState): BreakerState {
  if (state === CircuitState.Closed) return "closed";
  if (state === CircuitState.HalfOpen) return "half_open";
  return "open";
}

/** One provider's retry → bulkhead → breaker → timeout stack. */
export class ProviderPolicy {
  readonly provider: string;
  readonly config: ProviderPolicyConfig;
  #breaker: CircuitBreakerPolicy;
  #bulkhead: BulkheadPolicy;
  #retry: RetryPolicy;
  #openedAt = 0;
  #state: BreakerState = "closed";
  #deadlines: Deadlines;
  #onBulkheadReject: (reason: "full" | "wait") => void;

  constructor(provider: string, config: ProviderPolicyConfig, hooks: PolicyHooks = {}) {
    this.provider = provider;
    this.config = config;
    this.#deadlines = new Deadlines(config.timeoutMs);
    const { breaker, bulkhead: bh, retry: rt } = config;
    this.#breaker = circuitBreaker(handleWhen((err) => isOutage(err, breaker.countRateLimited)), {
      halfOpenAfter: breaker.halfOpenAfterMs,
      breaker: new EitherBreaker(breaker),
    });
    this.#breaker.onStateChange((next) => {
      const to = stateName(next);
      if (to === "open") this.#openedAt = Date.now();
      const from = this.#state;
      this.#state = to;
      if (from !== to) hooks.onTransition?.(provider, from, to);
    });
    this.#bulkhead = bulkhead(bh.maxConcurrent, bh.maxQueue);
    // Not retried once the breaker is open: that attempt would be refused, so move on to the fallback now.
    const retryable = (err: unknown) =>
      err instanceof ProviderError && err.retryable && (err.retryAfterMs ?? 0) <= rt.maxRetryAfterMs &&
      !this.refusing;
    this.#retry = retry(handleWhen(retryable), {
      maxAttempts: rt.maxRetries,
      backoff: new DelegateBackoff((context) => {
        // Full jitter (AWS architecture blog): uniform in [0, min(cap, base·2^n)], so that clients that failed
        // together do not retry together; an upstream's Retry-After is a floor, never shortened.
        const ceiling = Math.min(rt.maxDelayMs, rt.baseDelayMs * 2 ** (context.attempt - 1));
        const err = "error" in context.result ? context.result.error : undefined;
        const floor = err instanceof ProviderError ? err.retryAfterMs ?? 0 : 0;
        return Math.max(floor, Math.random() * ceiling);
      }),
    });
    this.#retry.onRetry((reason) => hooks.onRetry?.(provider, upstreamOutcome("error" in reason ? reason.error : 0)));
    this.#onBulkheadReject = (reason) => hooks.onBulkheadReject?.(provider, reason);
  }

  /** The breaker state. */
  get state(): BreakerState {
    return this.#state;
  }

  /** Whether a call would be refused at once (open within its break, or half-open with the probe out). */
  get refusing(): boolean {
    const state = this.#breaker.state;
    if (state === CircuitState.Closed) return false;
    if (state === CircuitState.Open) return this.#breakLeftMs() > 0;
    return true;
  }

  /** Calls in flight and waiting in the bulkhead. */
  get load(): { active: number; queued: number } {
    const bh = this.config.bulkhead;
    return {
      active: bh.maxConcurrent - this.#bulkhead.executionSlots,
      queued: bh.maxQueue - this.#bulkhead.queueSlots,
    };
  }

  /** Stops the attempt-timeout timer (at shutdown). */
  close(): void {
    this.#deadlines.close();
  }

  #breakLeftMs(): number {
    return Math.max(0, this.#openedAt + this.config.breaker.halfOpenAfterMs - Date.now());
  }

  /**
   * Runs `attempt` under the whole policy. `attempt` gets a signal that aborts on the caller's signal or on the
   * attempt's timeout; for streams it stays linked to the caller's signal after the promise resolved, so the
   * iteration can still be cancelled, while the timeout only covers the time until the upstream accepted.
   */
  execute<T>(
    signal: AbortSignal,
    attempt: (signal: AbortSignal) => Promise<T>,
    options: { stream?: boolean } = {},
  ): Promise<T> {
    return this.#retry.execute(({ signal: s }) => this.#once(s, attempt, options.stream === true), signal);
  }

  #once<T>(signal: AbortSignal, attempt: (signal: AbortSignal) => Promise<T>, stream: boolean): Promise<T> {
    // Fail fast before queueing in the bulkhead: cockatiel would make callers wait for a half-open probe.
    if (this.refusing) return Promise.reject(new CircuitOpenError(this.provider, this.#breakLeftMs()));
    const run = () =>
      this.#breaker.execute(
        () => withTimeout(this.#deadlines, signal, attempt, { keepLinked: stream }),
        signal,
      )
        .catch((err) => {
          if (err instanceof BrokenCircuitError && !(err instanceof CircuitOpenError)) {
            throw new CircuitOpenError(this.provider, this.#breakLeftMs());
          }
          throw err;
        });
    if (!stream) return this.#throughBulkhead(signal, run);
    // A stream is an upstream call in flight until its last chunk: it holds its bulkhead slot until the
    // iteration ends (or the caller goes away), so that hanging streams cannot exceed `maxConcurrent` either.
    return new Promise<T>((resolve, reject) => {
      this.#throughBulkhead(
        signal,
        () =>
          new Promise<void>((finished) => {
            run().then(
              (value) => resolve(holdUntilDone(value as AsyncIterable<unknown>, signal, finished) as T),
              (err) => {
                finished();
                reject(err);
              },
            );
          }),
      ).catch(reject);
    });
  }

  async #throughBulkhead<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    const bh = this.#bulkhead;
    const { maxConcurrent, maxQueue, maxQueueWaitMs } = this.config.bulkhead;
    if (bh.executionSlots > 0) return bh.execute(fn, signal);
    if (bh.queueSlots === 0) {
      this.#onBulkheadReject("full");
      throw new BulkheadFullError(this.provider, "full", maxConcurrent, maxQueue);
    }
    // A queued call that waits past its budget is dropped from the queue (its signal aborts, so the bulkhead
    // skips it) and goes to the fallback now rather than after the slow provider finally frees a slot.
    const queued = new AbortController();
    const unlink = link(signal, queued);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        queued.abort();
        this.#onBulkheadReject("wait");
        reject(new BulkheadFullError(this.provider, "wait", maxConcurrent, maxQueue));
      }, maxQueueWaitMs);
    });
    try {
      return await Promise.race([
        bh.execute(() => {
          clearTimeout(timer);
          return fn();
        }, queued.signal),
        expired,
      ]);
    } finally {
      clearTimeout(timer);
      unlink();
    }
  }
}

/**
 * Passes a stream through and calls `done` once, when it ended, failed, was closed by its consumer, or `signal`
 * aborted (a consumer that never starts iterating would otherwise hold the slot forever).
 */
function holdUntilDone<C>(chunks: AsyncIterable<C>, signal: AbortSignal, done: () => void): AsyncIterable<C> {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    signal.removeEventListener("abort", release);
    done();
  };
  if (signal.aborted) release();
  else signal.addEventListener("abort", release, { once: true });
  return {
    [Symbol.asyncIterator](): AsyncIterator<C> {
      const it = chunks[Symbol.asyncIterator]();
      return {
        async next() {
          try {
            const r = await it.next();
            if (r.done) release();
            return r;
          } catch (err) {
            release();
            throw err;
          }
        },
        async return(value?: unknown) {
          release();
          return it.return ? await it.return(value) : { done: true, value: value as C };
        },
      };
    },
  };
}

/** Aborts `child` when `parent` aborts; returns the function that undoes the link. */
function link(parent: AbortSignal, child: AbortController): () => void {
  if (parent.aborted) {
    child.abort(parent.reason);
    return () => {};
  }
  const onAbort = () => child.abort(parent.reason);
  parent.addEventListener("abort", onAbort, { once: true });
  return () => parent.removeEventListener("abort", onAbort);
}

/**
 * Runs `fn` with a signal that aborts when `parent` does or after `ms`; a timeout rejects with a retryable 504
 * `ProviderError` even if `fn` ignores its signal. With `keepLinked` the link to `parent` outlives a successful
 * `fn` (a stream's iteration needs it; it goes away with the parent signal, which lives as long as the request).
 */
export function withTimeout<T>(
  deadlines: Deadlines,
  parent: AbortSignal,
  fn: (signal: AbortSignal) => Promise<T>,
  options: { keepLinked?: boolean } = {},
): Promise<T> {
  const ctrl = new AbortController();
  const unlink = link(parent, ctrl);
  if (ctrl.signal.aborted) return Promise.reject(ctrl.signal.reason);
  // One promise settled by whichever comes first (answer or deadline): cheaper than racing two.
  return new Promise<T>((resolve, reject) => {
    const cancel = deadlines.add(() => {
      const err = new ProviderError(`the upstream did not answer within ${deadlines.ms} ms`, {
        status: 504,
        retryable: true,
      });
      unlink();
      ctrl.abort(err);
      reject(err);
    });
    fn(ctrl.signal).then((value) => {
      cancel();
      if (!options.keepLinked) unlink();
      resolve(value);
    }, (err) => {
      cancel();
      unlink();
      reject(err);
    });
  });
}

/** The policies of every provider, created on first use; the breaker health the router reads. */
export class ProviderPolicies implements ProviderHealth {
  #policies = new Map<string, ProviderPolicy>();
  #configFor: (provider: string) => ProviderPolicyConfig;
  #hooks: PolicyHooks;

  constructor(configFor: (provider: string) => ProviderPolicyConfig, hooks: PolicyHooks = {}) {
    this.#configFor = configFor;
    this.#hooks = hooks;
  }

  /** The policy of a provider. */
  for(provider: string): ProviderPolicy {
    let policy = this.#policies.get(provider);
    if (!policy) {
      policy = new ProviderPolicy(provider, this.#configFor(provider), this.#hooks);
      this.#policies.set(provider, policy);
    }
    return policy;
  }

  /** Stops every policy's timer (at shutdown). */
  close(): void {
    for (const p of this.#policies.values()) p.close();
  }

  /** Every policy created so far. */
  all(): ProviderPolicy[] {
    return [...this.#policies.values()];
  }

  isOpen(provider: string): boolean {
    return this.#policies.get(provider)?.refusing ?? false;
  }

  state(provider: string): BreakerState {
    return this.#policies.get(provider)?.state ?? "closed";
  }
}
