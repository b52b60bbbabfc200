/**
 * What the router knows about one deployment: a peak-EWMA and a smooth EWMA of its observed latency, its calls
 * in flight, and its error rate. Peak-EWMA (Finagle, Linkerd/tower) jumps up at once when a call is slower than
 * the estimate and decays down with time constant `tau`, so a deployment that slows down loses traffic on its
 * next answer while one that speeds up wins it back gradually. Read-time decay toward zero makes an idle
 * deployment look cheaper as its measurement ages, so it is measured again instead of being shunned forever.
 *
 * @module
 */

/** Settings of a {@linkcode DeploymentStats}. */
export interface LatencyOptions {
  /** Time constant of both EWMAs and of the idle decay, in ms. */
  tauMs: number;
  /** Estimate before the first observation, in ms. */
  initialMs: number;
}

/**
 * The smooth EWMA moves at least this share toward each sample, so that under heavy traffic it follows a change
 * within a few dozen calls rather than waiting a whole `tau`.
 */
const MIN_RECENCY = 1 / 16;

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
  #peak: number;
  #smooth: number;
  #errorRate = 0;
  /** Time of the last observation; NaN until the first one. */
  #stamp = Number.NaN;
  /** Where the idle decay counts from: creation, then the last observation. */
  #decayFrom: number;

  /**
   * `now` is the creation time: the initial estimate decays from it like a measurement would, so a deployment
   * that has not been called yet is tried within a few `tau` even when a measured one looks faster.
   */
  constructor(name: string, options: LatencyOptions, now = 0) {
    this.name = name;
    this.#tau = options.tauMs;
    this.#peak = options.initialMs;
    this.#smooth = options.initialMs;
    this.#decayFrom = now;
  }

  /** Whether any call has been measured yet. */
  get measured(): boolean {
    return !Number.isNaN(this.#stamp);
  }

  /** Time of the last observation (NaN before the first). */
  get lastObservedAt(): number {
    return this.#stamp;
  }

  /** The peak-EWMA latency at `now`, decayed since the last observation (ms). */
  peakMs(now: number): number {
    return this.#peak * this.#idleDecay(now);
  }

  /** The smooth EWMA latency at `now`, decayed since the last observation (ms). */
  smoothMs(now: number): number {
    return this.#smooth * this.#idleDecay(now);
  }

  /** The smooth error rate of recent attempts (0..1). */
  get errorRate(): number {
    return this.#errorRate;
  }

  /** Records one finished attempt: its latency (ms) and whether it failed. */
  observe(ms: number, failed: boolean, now: number): void {
    if (!this.measured) {
      this.#peak = ms;
      this.#smooth = ms;
      this.#errorRate = failed ? 1 : 0;
      this.#stamp = now;
      this.#decayFrom = now;
      return;
    }
    const decay = Math.exp(-Math.max(0, now - this.#stamp) / this.#tau);
    this.#peak = ms > this.#peak ? ms : this.#peak * decay + ms * (1 - decay);
    const recency = Math.max(1 - decay, MIN_RECENCY);
    this.#smooth += (ms - this.#smooth) * recency;
    this.#errorRate += ((failed ? 1 : 0) - this.#errorRate) * recency;
    this.#stamp = now;
    this.#decayFrom = now;
  }

  #idleDecay(now: number): number {
    const idle = now - this.#decayFrom;
    return idle <= 0 ? 1 : Math.exp(-idle / this.#tau);
  }
}
