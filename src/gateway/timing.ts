/**
 * Per-request timing marks, rendered as a `Server-Timing` header that separates the gateway's own time from the
 * time spent waiting for the upstream (and for the cache and embedder, when they ran).
 *
 * @module
 */

/** Accumulates named durations for one request. */
export class Timing {
  readonly start = performance.now();
  #spans = new Map<string, number>();

  /** Adds `ms` to the span `name`. */
  add(name: string, ms: number): void {
    this.#spans.set(name, (this.#spans.get(name) ?? 0) + ms);
  }

  /** Runs `fn` and adds its duration to `name`. */
  async measure<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.add(name, performance.now() - t0);
    }
  }

  /** The time recorded for `name` so far, in ms. */
  get(name: string): number {
    return this.#spans.get(name) ?? 0;
  }

  /**
   * The `Server-Timing` value: `gateway` is the time so far minus upstream time (its own, or another call's that
   * this one waited for: `inflight`); `total` is the time so far. The cache and embed spans are part of the
   * gateway's time.
   */
  header(): string {
    const total = performance.now() - this.start;
    const upstream = this.get("upstream") + this.get("inflight");
    const parts = [`gateway;dur=${(total - upstream).toFixed(3)}`];
    for (const [name, ms] of this.#spans) parts.push(`${name};dur=${ms.toFixed(3)}`);
    parts.push(`total;dur=${total.toFixed(3)}`);
    return parts.join(", ");
  }
}
