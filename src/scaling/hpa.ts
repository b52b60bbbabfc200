/**
 * The Horizontal Pod Autoscaler's replica calculation, as the Kubernetes controller does it (autoscaling/v2):
 *
 * 1. per metric, `desired = ceil(current × currentValue / targetValue)`, or no change while the ratio is within
 *    the tolerance (default 0.1); an `AverageValue` external metric is a total, so `desired = ceil(total / target)`;
 * 2. the maximum over the metrics; with an invalid metric the HPA may scale up but never down;
 * 3. stabilisation: the lowest recommendation of the scale-up window and the highest of the scale-down window
 *    bound the result (so a scale-up needs a sustained high, a scale-down a sustained low);
 * 4. rate policies (`Pods` / `Percent` per `periodSeconds`, counted from the replica changes made within the
 *    period), combined by `selectPolicy` (`Max` = the largest change, `Min` = the smallest, `Disabled`);
 * 5. `minReplicas` / `maxReplicas`.
 *
 * Pure and clocked by the caller (`now` in seconds), so the simulator can replay hours in milliseconds.
 *
 * @module
 */

/** How a metric's target is expressed. */
export type MetricTargetType = "AverageValue" | "Value" | "Utilization";

/** One metric of the HPA. */
export interface HpaMetric {
  name: string;
  targetType: MetricTargetType;
  /** Target value (Utilization: percent of the pods' requests). */
  target: number;
}

/** One rate policy. */
export interface ScalingPolicy {
  type: "Pods" | "Percent";
  value: number;
  periodSeconds: number;
}

/** Behaviour of one direction. */
export interface ScalingRules {
  stabilizationWindowSeconds: number;
  selectPolicy: "Max" | "Min" | "Disabled";
  policies: ScalingPolicy[];
  /** Ratio tolerance of this direction; the cluster default (0.1) when absent. */
  tolerance?: number;
}

/** Behaviour of both directions. */
export interface HpaBehavior {
  scaleUp: ScalingRules;
  scaleDown: ScalingRules;
}

/** The Kubernetes defaults for a direction the spec leaves out. */
export const DEFAULT_SCALE_UP: ScalingRules = {
  stabilizationWindowSeconds: 0,
  selectPolicy: "Max",
  policies: [{ type: "Percent", value: 100, periodSeconds: 15 }, { type: "Pods", value: 4, periodSeconds: 15 }],
};

/** The Kubernetes defaults for scaling down. */
export const DEFAULT_SCALE_DOWN: ScalingRules = {
  stabilizationWindowSeconds: 300,
  selectPolicy: "Max",
  policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
};

/** The cluster-wide default tolerance (`--horizontal-pod-autoscaler-tolerance`). */
export const DEFAULT_TOLERANCE = 0.1;

/** A partial behaviour as written in a manifest. */
export interface BehaviorSpec {
  scaleUp?: Partial<ScalingRules>;
  scaleDown?: Partial<ScalingRules>;
}

/** Fills the fields a manifest leaves out with the Kubernetes defaults. */
export function resolveBehavior(spec: BehaviorSpec | undefined): HpaBehavior {
  const fill = (given: Partial<ScalingRules> | undefined, defaults: ScalingRules): ScalingRules => ({
    stabilizationWindowSeconds: given?.stabilizationWindowSeconds ?? defaults.stabilizationWindowSeconds,
    selectPolicy: given?.selectPolicy ?? defaults.selectPolicy,
    policies: given?.policies?.length
      ? given.policies.map((p) => ({ type: p.type, value: Number(p.value), periodSeconds: Number(p.periodSeconds) }))
      : defaults.policies,
    tolerance: given?.tolerance,
  });
  return { scaleUp: fill(spec?.scaleUp, DEFAULT_SCALE_UP), scaleDown: fill(spec?.scaleDown, DEFAULT_SCALE_DOWN) };
}

/** What the HPA is configured with. */
export interface HpaSpec {
  minReplicas: number;
  maxReplicas: number;
  metrics: HpaMetric[];
  behavior: HpaBehavior;
  /** Cluster default tolerance; 0.1 unless the controller manager is configured otherwise. */
  tolerance?: number;
}

/**
 * A metric reading for one sync: for `AverageValue` the total over all pods (as a Prometheus `sum(...)` returns it),
 * for `Value` the value, for `Utilization` the pods' average utilisation in percent. `undefined` = the metric
 * could not be read.
 */
export type MetricReading = number | undefined;

/** The replica count one metric asks for (before behaviour and limits). */
export function replicasForMetric(
  metric: HpaMetric,
  reading: number,
  currentReplicas: number,
  tolerance: { up: number; down: number } = { up: DEFAULT_TOLERANCE, down: DEFAULT_TOLERANCE },
): number {
  const within = (ratio: number) => ratio >= 1 ? ratio - 1 <= tolerance.up : 1 - ratio <= tolerance.down;
  if (metric.targetType === "AverageValue") {
    const ratio = reading / (metric.target * currentReplicas);
    if (within(ratio)) return currentReplicas;
    return Math.ceil(reading / metric.target);
  }
  const ratio = reading / metric.target;
  if (within(ratio)) return currentReplicas;
  return Math.ceil(ratio * currentReplicas);
}

/** The outcome of one sync. */
export interface HpaDecision {
  /** The replica count after this sync. */
  replicas: number;
  /** The per-metric proposals (undefined: unreadable). */
  proposals: (number | undefined)[];
  /** The maximum over the metrics, before stabilisation, policies and limits. */
  recommendation?: number;
  /** Why the result is what it is. */
  reason: string;
}

interface Stamped {
  t: number;
  value: number;
}

/** One HPA's controller state across syncs. */
export class HpaController {
  readonly spec: HpaSpec;
  #recommendations: Stamped[] | undefined;
  #upEvents: Stamped[] = [];
  #downEvents: Stamped[] = [];

  constructor(spec: HpaSpec) {
    this.spec = spec;
  }

  /** One reconcile at time `now` (seconds) with the current replica count and one reading per metric. */
  sync(now: number, currentReplicas: number, readings: MetricReading[]): HpaDecision {
    const { minReplicas, maxReplicas } = this.spec;
    const none = { proposals: readings.map(() => undefined) };
    if (currentReplicas === 0 && minReplicas !== 0) {
      return { ...none, replicas: 0, reason: "scaling is disabled at 0 replicas (KEDA activates the target)" };
    }
    if (currentReplicas > maxReplicas) return this.#apply(now, currentReplicas, maxReplicas, none, "above maximum");
    if (currentReplicas < minReplicas) return this.#apply(now, currentReplicas, minReplicas, none, "below minimum");

    const tolerance = {
      up: this.spec.behavior.scaleUp.tolerance ?? this.spec.tolerance ?? DEFAULT_TOLERANCE,
      down: this.spec.behavior.scaleDown.tolerance ?? this.spec.tolerance ?? DEFAULT_TOLERANCE,
    };
    const proposals = this.spec.metrics.map((m, i) => {
      const r = readings[i];
      return r === undefined || !Number.isFinite(r) ? undefined : replicasForMetric(m, r, currentReplicas, tolerance);
    });
    const valid = proposals.filter((p): p is number => p !== undefined);
    if (valid.length === 0) {
      return { replicas: currentReplicas, proposals, reason: "no metric could be read: no change" };
    }
    const recommendation = Math.max(...valid);
    if (valid.length < proposals.length && recommendation < currentReplicas) {
      return {
        replicas: currentReplicas,
        proposals,
        recommendation,
        reason: "a metric could not be read: the HPA does not scale down blind",
      };
    }
    const stabilized = this.#stabilize(now, currentReplicas, recommendation);
    const { replicas, reason } = this.#limitRate(now, currentReplicas, stabilized);
    return this.#apply(now, currentReplicas, replicas, { proposals, recommendation }, reason);
  }

  #apply(
    now: number,
    current: number,
    replicas: number,
    extra: { proposals: (number | undefined)[]; recommendation?: number },
    reason: string,
  ): HpaDecision {
    if (replicas > current) this.#upEvents.push({ t: now, value: replicas - current });
    if (replicas < current) this.#downEvents.push({ t: now, value: current - replicas });
    this.#forgetOldEvents(now);
    return { replicas, ...extra, reason };
  }

  /** Bounds the recommendation by the up-window minimum and the down-window maximum; records it. */
  #stabilize(now: number, current: number, recommendation: number): number {
    const { scaleUp, scaleDown } = this.spec.behavior;
    // A new HPA starts with the current count in its history, so it does not scale down right after creation.
    this.#recommendations ??= scaleDown.stabilizationWindowSeconds > 0 ? [{ t: now, value: current }] : [];
    const upCutoff = now - scaleUp.stabilizationWindowSeconds;
    const downCutoff = now - scaleDown.stabilizationWindowSeconds;
    let upLimit = recommendation;
    let downLimit = recommendation;
    for (const r of this.#recommendations) {
      if (r.t > upCutoff) upLimit = Math.min(upLimit, r.value);
      if (r.t > downCutoff) downLimit = Math.max(downLimit, r.value);
    }
    const keepAfter = Math.min(upCutoff, downCutoff);
    this.#recommendations = this.#recommendations.filter((r) => r.t > keepAfter);
    this.#recommendations.push({ t: now, value: recommendation });
    let result = current;
    if (result < upLimit) result = upLimit;
    if (result > downLimit) result = downLimit;
    return result;
  }

  #changeWithin(events: Stamped[], now: number, periodSeconds: number): number {
    let sum = 0;
    for (const e of events) if (e.t > now - periodSeconds) sum += e.value;
    return sum;
  }

  #limitRate(now: number, current: number, desired: number): { replicas: number; reason: string } {
    const { minReplicas, maxReplicas, behavior } = this.spec;
    if (desired > current) {
      const limit = Math.max(current, this.#scaleUpLimit(now, current, behavior.scaleUp));
      const allowed = Math.min(maxReplicas, limit);
      if (desired > allowed) {
        return {
          replicas: allowed,
          reason: allowed === maxReplicas ? "capped by maxReplicas" : "capped by scale-up policy",
        };
      }
      return { replicas: desired, reason: "scale up" };
    }
    if (desired < current) {
      const limit = Math.min(current, this.#scaleDownLimit(now, current, behavior.scaleDown));
      const allowed = Math.max(minReplicas, limit);
      if (desired < allowed) {
        return {
          replicas: allowed,
          reason: allowed === minReplicas ? "held at minReplicas" : "capped by scale-down policy",
        };
      }
      return { replicas: desired, reason: "scale down" };
    }
    return { replicas: current, reason: "no change" };
  }

  #scaleUpLimit(now: number, current: number, rules: ScalingRules): number {
    if (rules.selectPolicy === "Disabled") return current;
    let result = rules.selectPolicy === "Min" ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
    for (const p of rules.policies) {
      const start = current - this.#changeWithin(this.#upEvents, now, p.periodSeconds) +
        this.#changeWithin(this.#downEvents, now, p.periodSeconds);
      const proposed = p.type === "Pods" ? start + p.value : Math.ceil(start * (1 + p.value / 100));
      result = rules.selectPolicy === "Min" ? Math.min(result, proposed) : Math.max(result, proposed);
    }
    return result;
  }

  #scaleDownLimit(now: number, current: number, rules: ScalingRules): number {
    if (rules.selectPolicy === "Disabled") return current;
    let result = rules.selectPolicy === "Min" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    for (const p of rules.policies) {
      const start = current - this.#changeWithin(this.#upEvents, now, p.periodSeconds) +
        this.#changeWithin(this.#downEvents, now, p.periodSeconds);
      const proposed = p.type === "Pods" ? start - p.value : Math.trunc(start * (1 - p.value / 100));
      result = rules.selectPolicy === "Min" ? Math.max(result, proposed) : Math.min(result, proposed);
    }
    return result;
  }

  #forgetOldEvents(now: number): void {
    const longest = (rules: ScalingRules) => Math.max(0, ...rules.policies.map((p) => p.periodSeconds));
    const up = longest(this.spec.behavior.scaleUp);
    const down = longest(this.spec.behavior.scaleDown);
    this.#upEvents = this.#upEvents.filter((e) => e.t > now - up);
    this.#downEvents = this.#downEvents.filter((e) => e.t > now - down);
  }
}
