/**
 * Admission control: at most `maxInFlight` requests are processed at once; up to `maxQueue` more wait for a
 * slot, each for at most `maxQueueWaitMs`. Past that the request is shed with a 503 and `Retry-After` instead of
 * queueing into a broken latency SLO. In-flight and queue depth are the gauges KEDA scales on.
 *
 * @module
 */
import { OverloadedError } from "../errors.ts";

/** Admission limits. */
export interface AdmissionOptions {
  maxInFlight: number;
  maxQueue: number;
  maxQueueWaitMs: number;
}

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Why a request was shed. */
export type ShedReason = "queue_full" | "queue_timeout";

/** A bounded semaphore with a bounded, time-limited wait queue. */
export class AdmissionController {
  #options: AdmissionOptions;
  #inFlight = 0;
  #queue: Waiter[] = [];
  #onShed?: (reason: ShedReason) => void;

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

  /** Waits for a slot; resolves with the function that gives it back. Throws `OverloadedError` when shed. */
  acquire(): Promise<() => void> {
    if (this.#inFlight < this.#options.maxInFlight) {
      this.#inFlight++;
      return Promise.resolve(this.#releaser());
    }
    if (this.#queue.length >= this.#options.maxQueue) return Promise.reject(this.#shed("queue_full"));
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
    return () => {
      if (released) return;
      released = true;
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
    // A queue that is full now drains in about one wait budget; tell the client to come back after that.
    const retryAfterSeconds = Math.max(1, Math.ceil(this.#options.maxQueueWaitMs / 1000));
    return new OverloadedError(
      `the gateway is at capacity (${reason.replace("_", " ")}); retry after ${retryAfterSeconds} s`,
      { code: reason, retryAfterSeconds },
    );
  }
}
