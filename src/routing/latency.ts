/**
 * What the router knows about one deployment: its calls in flight, its error rate, and two latency estimates per
 * kind of call (whole JSON answers; streams to their first chunk, which is what a streaming client waits for).
 * Each estimate is a peak-EWMA and a smooth EWMA. Peak-EWMA (Finagle, Linkerd/tower) jumps up at once when a call
 * is slower than the estimate and decays down with time constant `tau`, so a deployment that slows down loses
 * traffic on its next answer while one that speeds up wins it back gradually. Read-time decay toward zero makes
 * an idle deployment look cheaper as its measurement ages, so it is measured again instead of being shunned
 * forever.
 *
 * @module
 */

/** Settings of a {@linkcode DeploymentStats}. */
export interface LatencyOptions {
  /** Time constant of the EWMAs and of the idle decay, in ms. */
  tauMs: number;
  /** Estimate before the first observation, in ms. */
  initialMs: number;
}

/** The kind of call a latency belongs to: a whole JSON answer, or a stream up to its first chunk. */
export type CallKind = "json" | "stream";

/**
 * The smooth EWMA moves at least this share toward each sample, so that under heavy traffic it follows a change
 * within a few dozen calls rather than waiting a whole `tau`.
 */
const MIN_RECENCY = 1 / 16;

/** The two EWMAs of one kind of call. */
class LatencyEstimate {
  peak: number;
  smooth: number;
  /** Time of the last observation; NaN until the first one. */
  stamp = Number.NaN;
  /** Where the idle decay counts from: creation, then the last observation. */
  decayFrom: number;

  constructor(initialMs: number, now: number) {
    this.peak = initialMs;
    this.smooth = initialMs;
    this.decayFrom = now;
  }

  get measured(): boolean {
    return !Number.isNaN(this.stamp);
  }

  idleDecay(now: number, tau: number): number {
    const idle = now - this.decayFrom;
    return idle <= 0 ? 1 : Math.exp(-idle / tau);
  }

  /** Adds a sample; returns the recency weight it got (for the error rate). */
  observe(ms: number, now: number, tau: number): number {
    if (!this.measured) {
      this.peak = ms;
      this.smooth = ms;
      this.stamp = this.decayFrom = now;
      return 1;
    }
    const decay = Math.exp(-Math.max(0, now - this.stamp) / tau);
    this.peak = ms > this.peak ? ms : this.peak * decay + ms * (1 - decay);
    const recency = Math.max(1 - decay, MIN_RECENCY);
    this.smooth += (ms - this.smooth) * recency;
    this.stamp = this.decayFrom = now;
    return recency;
  }
}

/** Live statistics of one deployment. */
export class DeploymentStats {
  readonly name: string;
  /** Calls started and not yet finished (streams count until their last chunk). */
  inFlight = 0;
  /** Attempts finished, by any outcome (counted by the observer). */
  requests = 0;
  /** Attempts that failed for a reason the deployment is responsible for (counted by the observer). */
  errors = 0;
  #tau: number;
  #errorRate = 0;
  #errorRateMeasured = false;
  #json: LatencyEstimate;
  #stream: LatencyEstimate;

  /**
   * `now` is the creation time: the initial estimate decays from it like a measurement would, so a deployment
   * that has not been called yet is tried within a few `tau` even when a measured one looks faster.
   */
  constructor(name: string, options: LatencyOptions, now = 0) {
    this.name = name;
    this.#tau = options.tauMs;
    this.#json = new LatencyEstimate(options.initialMs, now);
    this.#stream = new LatencyEstimate(options.initialMs, now);
  }

  /** Whether a call of this kind has been measured yet. */
  measured(kind: CallKind = "json"): boolean {
    return this.#of(kind).measured;
  }

  /** The peak-EWMA latency of a kind of call at `now`, decayed since its last observation (ms). */
  peakMs(now: number, kind: CallKind = "json"): number {
    const e = this.#of(kind);
    return e.peak * e.idleDecay(now, this.#tau);
  }

  /** The smooth EWMA latency of a kind of call at `now`, decayed since its last observation (ms). */
  smoothMs(now: number, kind: CallKind = "json"): number {
    const e = this.#of(kind);
    return e.smooth * e.idleDecay(now, this.#tau);
  }

  /** The smooth error rate of recent attempts of both kinds (0..1). */
  get errorRate(): number {
    return this.#errorRate;
  }

  /** Records one finished attempt: its latency (ms), whether it failed, and its kind. */
  observe(ms: number, failed: boolean, now: number, kind: CallKind = "json"): void {
    const recency = this.#of(kind).observe(ms, now, this.#tau);
    const sample = failed ? 1 : 0;
    this.#errorRate = this.#errorRateMeasured ? this.#errorRate + (sample - this.#errorRate) * recency : sample;
    this.#errorRateMeasured = true;
  }

  #of(kind: CallKind): LatencyEstimate {
    return kind === "stream" ? this.#stream : this.#json;
  }
}
