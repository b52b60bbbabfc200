/**
 * The offline scaling simulator: replays a metric timeline through KEDA's and the HPA's algorithm as configured
 * by a ScaledObject (or HPA), second by second of simulated time, and measures the result against static
 * provisioning for the peak.
 *
 * What it models: the HPA sync loop (every `syncPeriodSeconds`, default 15 s) with tolerance, max over metrics,
 * invalid-metric rules, stabilisation windows, rate policies and min/max (src/scaling/hpa.ts); KEDA's metric
 * adapter (AverageValue totals, Value, cpu/memory Utilization from the Deployment's requests), its fallback
 * (after more than `failureThreshold` consecutive failures a failing trigger reports `fallback.replicas` worth
 * of load), and activation (0 ↔ 1 on the polling interval, scale to zero after `cooldownPeriod`, only when
 * minReplicaCount is 0). Pods count as capacity `podStartupSeconds` after they are added.
 *
 * What it does not model: how the metrics would change because replicas changed (a recorded timeline is replayed
 * as recorded: no capacity feedback on latency or queues), node provisioning, pod scheduling failures, unready
 * pods in Utilization averages, and KEDA's metric caching.
 *
 * @module
 */
import { DEFAULT_TOLERANCE, HpaController, type MetricReading } from "./hpa.ts";
import type { ScalerSpec, TriggerSpec } from "./scaler_spec.ts";
import type { Sample, Timeline } from "./timeline.ts";

/** Simulation settings. */
export interface SimulationOptions {
  /** HPA controller sync period (`--horizontal-pod-autoscaler-sync-period`); default 15 s. */
  syncPeriodSeconds?: number;
  /** Cluster-wide HPA tolerance; default 0.1. */
  tolerance?: number;
  /** Simulated seconds per timeline second (stretch a short recorded load test); default 1. */
  timeScale?: number;
  /** Keep replaying the last sample for this many simulated seconds (e.g. to watch a scale-down); default 0. */
  holdLastSeconds?: number;
  /** Replicas at the start; default the scaler's minimum (at least 1 unless it may scale to zero). */
  initialReplicas?: number;
  /** Seconds from a scale-up to the new pods being ready; default 30. */
  podStartupSeconds?: number;
  /** Price of one replica for one hour, for the cost comparison; default 0.05 (an assumption; pass yours). */
  pricePerReplicaHour?: number;
}

/** The state after one HPA sync. */
export interface TimelinePoint {
  t: number;
  replicas: number;
  readyReplicas: number;
  /** What the triggers ask for combined (max over metrics), before stabilisation and policies. */
  recommendation?: number;
  /** The replicas the load needs at its targets (AverageValue and cpu triggers), clamped to min/max. */
  needed?: number;
  values: Record<string, number | null>;
  requestRate?: number;
  reason: string;
}

/** A replica change. */
export interface ScaleEvent {
  t: number;
  from: number;
  to: number;
  direction: "up" | "down";
  /** Who decided: the HPA, or KEDA's activation/deactivation. */
  by: "hpa" | "keda";
  reason: string;
}

/** What a simulation produced. */
export interface SimulationResult {
  scaler: ScalerSpec;
  timeline: { name: string; source: string; description?: string };
  durationSeconds: number;
  options: Required<SimulationOptions>;
  points: TimelinePoint[];
  events: ScaleEvent[];
  /** Triggers the timeline has no values for: left out, as if not configured. */
  ignoredTriggers: string[];
  peakReplicas: number;
  replicaHours: number;
  /** The smallest fixed replica count that meets every target at the timeline's peak. */
  staticPeakReplicas?: number;
  staticReplicaHours?: number;
  /** Replica-hours the load needed at the targets (the floor a perfect autoscaler would pay). */
  neededReplicaHours?: number;
  /** Replica-hours above the need: autoscaled vs static peak provisioning, and the reduction in percent. */
  overProvisioning?: { autoscaled: number; static: number; reductionPercent: number };
  /** Replica-hours below the need: the cost of reacting late (stabilisation, policies, pod start-up). */
  underProvisionedReplicaHours?: number;
  cost: { autoscaledUsd: number; staticUsd?: number; savingPercent?: number };
  /** Average requests per ready replica over the run (when the timeline has request rates). */
  requestsPerReplica?: number;
}

function sampleAt(samples: Sample[], t: number, scale: number): Sample {
  // Step-hold: the last sample at or before t (timeline time = simulated time / scale).
  const x = t / scale;
  let lo = 0;
  let hi = samples.length - 1;
  if (x <= samples[0].t) return samples[0];
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (samples[mid].t <= x) lo = mid;
    else hi = mid - 1;
  }
  return samples[lo];
}

/** The HPA-facing reading of a trigger's source value with `replicas` pods. */
export function readingFor(trigger: TriggerSpec, value: number, replicas: number, spec: ScalerSpec): number {
  const { metric, resource } = trigger;
  if (resource === "cpu") {
    if (metric.targetType === "Utilization") {
      const request = spec.requests.cpuCores;
      if (!request) throw new Error(`${spec.target.name} has no CPU request: a cpu Utilization trigger needs one`);
      return value / (replicas * request) * 100;
    }
    return value; // AverageValue: the total cores, which the HPA divides by the replicas
  }
  if (resource === "memory") {
    if (metric.targetType === "Utilization") {
      const request = spec.requests.memoryBytes;
      if (!request) {
        throw new Error(`${spec.target.name} has no memory request: a memory Utilization trigger needs one`);
      }
      return value / request * 100;
    }
    return value * replicas; // per-pod bytes → total
  }
  return value;
}

/** The replicas a value needs at its target, for the triggers where that is defined. */
function neededFor(trigger: TriggerSpec, value: number, spec: ScalerSpec): number | undefined {
  const { metric, resource } = trigger;
  if (resource === "cpu" && metric.targetType === "Utilization" && spec.requests.cpuCores) {
    return Math.ceil(value / (spec.requests.cpuCores * metric.target / 100));
  }
  if (resource === undefined && metric.targetType === "AverageValue") return Math.ceil(value / metric.target);
  return undefined;
}

/** Replays `timeline` through the autoscaler `spec`. */
export function simulate(spec: ScalerSpec, timeline: Timeline, options: SimulationOptions = {}): SimulationResult {
  const opts: Required<SimulationOptions> = {
    syncPeriodSeconds: options.syncPeriodSeconds ?? 15,
    tolerance: options.tolerance ?? DEFAULT_TOLERANCE,
    timeScale: options.timeScale ?? 1,
    holdLastSeconds: options.holdLastSeconds ?? 0,
    initialReplicas: options.initialReplicas ?? Math.max(spec.minReplicas, spec.kind === "ScaledObject" ? 0 : 1),
    podStartupSeconds: options.podStartupSeconds ?? 30,
    pricePerReplicaHour: options.pricePerReplicaHour ?? 0.05,
  };
  const present = new Set(timeline.samples.flatMap((s) => Object.keys(s.values)));
  const triggers = spec.triggers.filter((t) => present.has(t.name));
  const ignoredTriggers = spec.triggers.filter((t) => !present.has(t.name)).map((t) => t.name);
  if (triggers.length === 0) {
    throw new Error(
      `the timeline has values for none of the triggers of ${spec.name} (${
        spec.triggers.map((t) => t.name).join(", ")
      })`,
    );
  }
  const scaleToZero = spec.kind === "ScaledObject" && spec.minReplicas === 0;
  const hpa = new HpaController({
    minReplicas: Math.max(1, spec.minReplicas),
    maxReplicas: spec.maxReplicas,
    metrics: triggers.map((t) => t.metric),
    behavior: spec.behavior,
    tolerance: opts.tolerance,
  });

  const duration = Math.ceil(timeline.samples[timeline.samples.length - 1].t * opts.timeScale + opts.holdLastSeconds);
  let replicas = opts.initialReplicas;
  const starting: number[] = []; // ready times of pods still starting
  let ready = replicas;
  const failures = triggers.map(() => 0);
  let lastActive = 0;
  const points: TimelinePoint[] = [];
  const events: ScaleEvent[] = [];
  let replicaSeconds = 0;
  let neededSeconds = 0;
  let over = 0;
  let under = 0;
  let peakNeed: number | undefined;
  const needs: (number | undefined)[] = [];
  let servedRequests = 0;
  let readySecondsWithTraffic = 0;
  let peakReplicas = replicas;

  const change = (t: number, to: number, by: ScaleEvent["by"], reason: string) => {
    if (to === replicas) return;
    events.push({ t, from: replicas, to, direction: to > replicas ? "up" : "down", by, reason });
    if (to > replicas) { for (let i = replicas; i < to; i++) starting.push(t + opts.podStartupSeconds); }
    else {
      // Pods still starting are removed first (the ReplicaSet deletes unready pods first).
      let remove = replicas - to;
      while (remove > 0 && starting.length > 0) {
        starting.pop();
        remove--;
      }
      ready -= remove;
    }
    replicas = to;
    peakReplicas = Math.max(peakReplicas, replicas);
  };

  for (let t = 0; t <= duration; t++) {
    const sample = sampleAt(timeline.samples, t, opts.timeScale);
    // Pods that finished starting become capacity.
    for (let i = starting.length - 1; i >= 0; i--) {
      if (starting[i] <= t) {
        starting.splice(i, 1);
        ready++;
      }
    }

    if (scaleToZero && t % spec.pollingIntervalSeconds === 0) {
      const active = triggers.some((tr) => {
        const v = sample.values[tr.name];
        return tr.resource === undefined && v !== null && v !== undefined && v > tr.activation;
      });
      if (active) lastActive = t;
      if (active && replicas === 0) change(t, Math.max(1, spec.minReplicas), "keda", "a trigger became active");
      else if (!active && replicas > 0 && t - lastActive >= spec.cooldownPeriodSeconds) {
        change(
          t,
          spec.idleReplicaCount ?? 0,
          "keda",
          `no trigger active for cooldownPeriod ${spec.cooldownPeriodSeconds} s`,
        );
      }
    }

    if (t % opts.syncPeriodSeconds === 0) {
      const readings: MetricReading[] = triggers.map((tr, i) => {
        const v = sample.values[tr.name];
        if (v === null || v === undefined) {
          failures[i]++;
          const fb = spec.fallback;
          if (fb && tr.resource === undefined && failures[i] > fb.failureThreshold && replicas > 0) {
            // KEDA reports a value that makes the HPA compute exactly fallback.replicas for this trigger.
            return tr.metric.targetType === "Value"
              ? tr.metric.target * fb.replicas / replicas
              : tr.metric.target * fb.replicas;
          }
          return undefined;
        }
        failures[i] = 0;
        return replicas > 0 ? readingFor(tr, v, replicas, spec) : undefined;
      });
      const decision = hpa.sync(t, replicas, readings);
      const need = triggers.map((tr) => {
        const v = sample.values[tr.name];
        return v === null || v === undefined ? undefined : neededFor(tr, v, spec);
      }).filter((n): n is number => n !== undefined);
      const needed = need.length
        ? Math.min(spec.maxReplicas, Math.max(Math.max(1, spec.minReplicas), ...need))
        : undefined;
      points.push({
        t,
        replicas: decision.replicas,
        readyReplicas: ready,
        recommendation: decision.recommendation,
        needed,
        values: Object.fromEntries(triggers.map((tr) => [tr.name, sample.values[tr.name] ?? null])),
        requestRate: sample.requestRate,
        reason: decision.reason,
      });
      if (decision.replicas !== replicas) change(t, decision.replicas, "hpa", decision.reason);
    }

    // Integrate over this second.
    replicaSeconds += replicas;
    const n = points.length ? points[points.length - 1].needed : undefined;
    needs.push(n);
    if (n !== undefined) {
      neededSeconds += n;
      over += Math.max(0, replicas - n);
      under += Math.max(0, n - ready);
      peakNeed = Math.max(peakNeed ?? 0, n);
    }
    if (sample.requestRate !== undefined && ready > 0) {
      servedRequests += sample.requestRate;
      readySecondsWithTraffic += ready;
    }
  }

  const hours = (s: number) => s / 3600;
  const seconds = duration + 1;
  const result: SimulationResult = {
    scaler: spec,
    timeline: { name: timeline.name, source: timeline.source, description: timeline.description },
    durationSeconds: duration,
    options: opts,
    points,
    events,
    ignoredTriggers,
    peakReplicas,
    replicaHours: hours(replicaSeconds),
    cost: { autoscaledUsd: hours(replicaSeconds) * opts.pricePerReplicaHour },
    requestsPerReplica: readySecondsWithTraffic > 0 ? servedRequests / readySecondsWithTraffic : undefined,
  };
  if (peakNeed !== undefined && needs.every((x) => x !== undefined)) {
    const staticSeconds = peakNeed * seconds;
    const staticOver = needs.reduce((sum: number, x) => sum + (peakNeed! - x!), 0);
    result.staticPeakReplicas = peakNeed;
    result.staticReplicaHours = hours(staticSeconds);
    result.neededReplicaHours = hours(neededSeconds);
    result.overProvisioning = {
      autoscaled: hours(over),
      static: hours(staticOver),
      reductionPercent: staticOver > 0 ? (1 - over / staticOver) * 100 : 0,
    };
    result.underProvisionedReplicaHours = hours(under);
    result.cost.staticUsd = hours(staticSeconds) * opts.pricePerReplicaHour;
    result.cost.savingPercent = (1 - replicaSeconds / staticSeconds) * 100;
  }
  return result;
}
