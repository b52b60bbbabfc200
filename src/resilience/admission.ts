/**
 * Admission control: at most `maxInFlight` requests are processed at once; up to `maxQueue` more wait for a
 * slot, each for at most `maxQueueWaitMs`. Past that the request is shed with a 503 and `Retry-After` instead of
 * queueing into a broken latency SLO. With `sloShedding`, a request that would have to queue is shed at once
 * when its expected wait (requests ahead × recent service time / slots) already exceeds the budget: it would
 * time out anyway, and waiting for that only adds latency for everyone. In-flight and queue depth are the
 * gauges KEDA scales on.
 *
 * @module
 */
import { OverloadedError } from "../errors.ts";

/** Admission limits. */
export interface AdmissionOptions {
  maxInFlight: number;
  maxQueue: number;
  maxQueueWaitMs: number;
  /** Shed at once when the expected queue wait exceeds `maxQueueWaitMs` (default true). */
  sloShedding?: boolean;
}

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Why a request was shed. */
export type ShedReason = "queue_full" | "queue_timeout" | "slo";

/** Service times seen before the expected wait is trusted enough to shed on. */
const MIN_SAMPLES = 20;
/** Weight of the newest service time in the moving average (about the last 20 requests). */
const EWMA_ALPHA = 0.05;

/** A bounded semaphore with a bounded, time-limited wait queue. */
export class AdmissionController {
  #options: AdmissionOptions;
  #inFlight = 0;
  #queue: Waiter[] = [];
  #onShed?: (reason: ShedReason) => void;
  #serviceMs = 0;
  #samples = 0;

  constructor(options: AdmissionOptions, onShed?: (reason: ShedReason) => void) {
    this.#options = options;
    this.#onShed = onShed;
  }

  /** Requests being processed. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Requests waiting for a slot. */
  get queueDepth(): number {
    return this.#queue.length;
  }

  /** The limits in force. */
  get options(): AdmissionOptions {
    return { ...this.#options };
  }

  /** Recent time a request holds its slot (moving average), in milliseconds; 0 before any was measured. */
  get serviceTimeMs(): number {
    return this.#serviceMs;
  }

  /** How long a request arriving now would wait for a slot, from the recent service time. */
  get expectedWaitMs(): number {
    if (this.#inFlight < this.#options.maxInFlight) return 0;
    return ((this.#queue.length + 1) * this.#serviceMs) / this.#options.maxInFlight;
  }

  /** Waits for a slot; resolves with the function that gives it back. Throws `OverloadedError` when shed. */
  acquire(): Promise<() => void> {
    if (this.#inFlight < this.#options.maxInFlight) {
      this.#inFlight++;
      return Promise.resolve(this.#releaser());
    }
    if (this.#queue.length >= this.#options.maxQueue) return Promise.reject(this.#shed("queue_full"));
    if (
      this.#options.sloShedding !== false && this.#samples >= MIN_SAMPLES &&
      this.expectedWaitMs > this.#options.maxQueueWaitMs
    ) {
      return Promise.reject(this.#shed("slo"));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.#queue.indexOf(waiter);
          if (i >= 0) this.#queue.splice(i, 1);
          reject(this.#shed("queue_timeout"));
        }, this.#options.maxQueueWaitMs),
      };
      this.#queue.push(waiter);
    });
  }

  #releaser(): () => void {
    let released = false;
    const t0 = performance.now();
    return () => {
      if (released) return;
      released = true;
      const ms = performance.now() - t0;
      this.#serviceMs = this.#samples === 0 ? ms : this.#serviceMs + EWMA_ALPHA * (ms - this.#serviceMs);
      this.#samples++;
      const next = this.#queue.shift();
      if (next) {
        // The slot passes straight to the next waiter; in-flight stays the same.
        clearTimeout(next.timer);
        next.resolve(this.#releaser());
      } else {
        this.#inFlight--;
      }
    };
  }

  #shed(reason: ShedReason): OverloadedError {
    this.#onShed?.(reason);
    // A queue that is full now drains in about one wait budget (or the expected wait, when that is known and
    // shorter); tell the client to come back after that.
    const drainMs = this.#samples >= MIN_SAMPLES ? Math.min(this.expectedWaitMs, this.#options.maxQueueWaitMs) : 0;
    const retryAfterSeconds = Math.max(1, Math.ceil((drainMs || this.#options.maxQueueWaitMs) / 1000));
    const why = reason === "slo" ? "expected queue wait over the latency budget" : reason.replace("_", " ");
    return new OverloadedError(
      `the gateway is at capacity (${why}); retry after ${retryAfterSeconds} s`,
      { code: reason, retryAfterSeconds },
    );
  }
}
