/**
 * The two load models.
 *
 * Open model: arrivals follow the scenario's rate schedule, whatever the target does. Each arrival has an
 * intended send time computed from the schedule alone, and its latency is measured from that time, so a stalled
 * target shows up as the long latencies every waiting user would see (no coordinated omission). When
 * `maxInFlight` requests are outstanding an arrival is dropped and counted, never queued.
 *
 * Closed model: a number of virtual users, each sending a request, waiting for its answer, thinking, and sending
 * again. Throughput then depends on the target's latency; latency is measured from the actual send.
 *
 * @module
 */
import type { ClosedLoad, OpenLoad } from "./scenario.ts";

/** Sends one request whose intended send time is `intendedMs` (ms since the run start) and records it. */
export type Fire = (intendedMs: number) => Promise<void>;

/** A run's clock: ms since the start. */
export class RunClock {
  readonly origin = performance.now();

  /** Milliseconds since the run started. */
  now(): number {
    return performance.now() - this.origin;
  }
}

/**
 * The intended arrival times (ms) of an open-model schedule. Rates ramp linearly inside a stage; arrival `i`
 * happens when the integral of the rate reaches `i` (uniform) or the `i`-th unit-rate exponential sum (Poisson).
 */
export function* arrivalTimes(load: OpenLoad, random: () => number = Math.random): Generator<number> {
  let stageStart = 0;
  let rate0 = load.startRate ?? load.stages[0].rate;
  // `due` is the cumulative expected count at which the next arrival happens.
  let due = load.arrivals === "poisson" ? -Math.log(1 - random()) : 0;
  let countAtStageStart = 0;
  for (const stage of load.stages) {
    const d = stage.durationS;
    const a = rate0;
    const b = (stage.rate - rate0) / d;
    const stageCount = a * d + (b * d * d) / 2;
    while (due < countAtStageStart + stageCount) {
      const need = due - countAtStageStart;
      // Solve a*t + b*t^2/2 = need for t in [0, d].
      let t: number;
      if (Math.abs(b) < 1e-12) t = need / a;
      else t = (-a + Math.sqrt(Math.max(0, a * a + 2 * b * need))) / b;
      yield (stageStart + Math.min(Math.max(t, 0), d)) * 1000;
      due += load.arrivals === "poisson" ? -Math.log(1 - random()) : 1;
    }
    countAtStageStart += stageCount;
    stageStart += d;
    rate0 = stage.rate;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Options shared by both models. */
export interface ExecuteOptions {
  clock: RunClock;
  fire: Fire;
  /** Stops issuing new requests early (Ctrl-C). */
  signal?: AbortSignal;
  random?: () => number;
}

/** How a model run ended. */
export interface ExecuteResult {
  /** Requests started. */
  started: number;
  /** Open model: arrivals dropped at the in-flight limit. */
  dropped: number;
  /** Promises of requests still running when issuing stopped. */
  pending: Set<Promise<void>>;
}

/** Runs the open model until the schedule ends; `onDrop` is told about each dropped arrival. */
export async function runOpen(
  load: OpenLoad,
  options: ExecuteOptions & { onDrop(intendedMs: number): void },
): Promise<ExecuteResult> {
  const { clock, fire } = options;
  const pending = new Set<Promise<void>>();
  let started = 0;
  let dropped = 0;
  const schedule = arrivalTimes(load, options.random);
  let next = schedule.next();
  while (!next.done && !options.signal?.aborted) {
    const now = clock.now();
    // Launch everything that is due; after a late wake-up (GC, a busy event loop) this catches up at once and
    // the late requests keep their intended times.
    while (!next.done && next.value <= now) {
      const intended = next.value;
      if (pending.size >= load.maxInFlight) {
        dropped++;
        options.onDrop(intended);
      } else {
        started++;
        const p: Promise<void> = fire(intended).catch(() => {}).finally(() => pending.delete(p));
        pending.add(p);
      }
      next = schedule.next();
    }
    if (next.done) break;
    const wait = next.value - clock.now();
    if (wait > 0) await sleep(Math.min(wait, 100));
    else await sleep(0);
  }
  return { started, dropped, pending };
}

/** The virtual-user target of a closed-model schedule at `ms`. */
export function vusAt(load: ClosedLoad, ms: number): number {
  let stageStart = 0;
  let from = load.startVus ?? load.stages[0].vus;
  const s = ms / 1000;
  for (const stage of load.stages) {
    if (s < stageStart + stage.durationS) {
      return Math.round(from + ((stage.vus - from) * (s - stageStart)) / stage.durationS);
    }
    stageStart += stage.durationS;
    from = stage.vus;
  }
  return 0;
}

/** Runs the closed model until the schedule ends. */
export async function runClosed(load: ClosedLoad, options: ExecuteOptions): Promise<ExecuteResult> {
  const { clock, fire } = options;
  const random = options.random ?? Math.random;
  const pending = new Set<Promise<void>>();
  const endMs = load.stages.reduce((sum, s) => sum + s.durationS, 0) * 1000;
  let started = 0;
  let target = vusAt(load, 0);
  const stopped = () => clock.now() >= endMs || options.signal?.aborted === true;

  async function user(id: number): Promise<void> {
    while (!stopped()) {
      if (id >= target) {
        await sleep(50);
        continue;
      }
      started++;
      await fire(clock.now()).catch(() => {});
      const { min, max } = load.thinkTimeMs;
      const think = min + random() * (max - min);
      if (think > 0) await sleep(Math.min(think, Math.max(0, endMs - clock.now())));
    }
  }

  const peak = Math.max(...load.stages.map((s) => s.vus), load.startVus ?? 0);
  const users: Promise<void>[] = [];
  for (let id = 0; id < peak; id++) users.push(user(id));
  while (!stopped()) {
    target = vusAt(load, clock.now());
    await sleep(Math.min(100, Math.max(1, endMs - clock.now())));
  }
  // Users finish their current request; the caller bounds the wait with the graceful stop.
  const all = Promise.all(users).then(() => {});
  pending.add(all);
  void all.finally(() => pending.delete(all));
  return { started, dropped: 0, pending };
}
