/**
 * The seed's scaling metrics, read from the Kubernetes API in a cluster:
 *
 * - `amas_current_replicas{deployment}`: ready replicas (and `amas_desired_replicas{deployment}`: spec.replicas)
 * - `amas_scaling_events_total{deployment,direction}`: replica changes the autoscaler made, up or down
 * - `amas_scaling_duration_seconds{deployment,direction}`: from the change of spec.replicas to that many pods
 *   being ready (the time a scale-up takes to become capacity)
 * - `amas_scaling_effectiveness{deployment}`: requests per replica, the HPA's current per-pod value of the
 *   request-rate metric
 *
 * Every gateway pod can read these, but only the first ready pod of its Deployment (by name) exports them, so a
 * `sum` over pods does not multiply them by the replica count. Offline, the simulator writes the same series
 * (`deno task scale simulate --openmetrics FILE`).
 *
 * @module
 */
import type { Counter, Histogram } from "@opentelemetry/api";
import type { Telemetry } from "../telemetry/telemetry.ts";
import type { DeploymentStatus, HpaStatus } from "./k8s_client.ts";
import type { Logger } from "../log.ts";

/** Buckets for scaling durations: pod start-up takes seconds to minutes. */
export const SCALING_DURATION_BUCKETS = [1, 2, 5, 10, 15, 30, 45, 60, 90, 120, 180, 300, 600];

/** Where the watcher reads the cluster (the `KubeClient`, or anything shaped like it). */
export interface ScalingSource {
  deployment(name: string): Promise<DeploymentStatus>;
  hpaFor(deployment: string): Promise<HpaStatus | undefined>;
  readyPods(selector: string): Promise<string[]>;
}

interface State {
  spec: number;
  ready: number;
  effectiveness?: number;
  /** A scale in progress: when spec.replicas changed, and which way. */
  pending?: { since: number; direction: "up" | "down" };
}

/** Options of the watcher. */
export interface ScalingWatcherOptions {
  deployments: string[];
  /** This pod's Deployment and name: only the first ready pod exports. */
  self?: string;
  podName?: string;
  /** The HPA metric (name contains this) whose current per-pod value is requests per replica. */
  rpsMetric: string;
  logger?: Logger;
  /** Clock in ms (tests). */
  now?: () => number;
}

/** Polls the cluster and maintains the scaling metrics. */
export class ScalingWatcher {
  #source: ScalingSource;
  #options: ScalingWatcherOptions;
  #states = new Map<string, State>();
  #leader = false;
  #events: Counter;
  #duration: Histogram;
  #timer?: ReturnType<typeof setInterval>;
  #now: () => number;

  constructor(source: ScalingSource, telemetry: Telemetry, options: ScalingWatcherOptions) {
    this.#source = source;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    const m = telemetry.meter;
    this.#events = m.createCounter("amas_scaling_events", {
      description: "replica changes made by the autoscaler, by deployment and direction (up, down)",
    });
    this.#duration = m.createHistogram("amas_scaling_duration_seconds", {
      description: "from a change of spec.replicas to that many ready pods, seconds",
      unit: "s",
      advice: { explicitBucketBoundaries: SCALING_DURATION_BUCKETS },
    });
    const current = m.createObservableGauge("amas_current_replicas", { description: "ready replicas per Deployment" });
    const desired = m.createObservableGauge("amas_desired_replicas", {
      description: "spec.replicas per Deployment (what the autoscaler asked for)",
    });
    const effectiveness = m.createObservableGauge("amas_scaling_effectiveness", {
      description: "requests per second per replica (the HPA's current per-pod request rate)",
    });
    m.addBatchObservableCallback((r) => {
      if (!this.#leader) return;
      for (const [deployment, s] of this.#states) {
        r.observe(current, s.ready, { deployment });
        r.observe(desired, s.spec, { deployment });
        if (s.effectiveness !== undefined) r.observe(effectiveness, s.effectiveness, { deployment });
      }
    }, [current, desired, effectiveness]);
  }

  /** Whether this pod exports the metrics. */
  get leader(): boolean {
    return this.#leader;
  }

  /** One round of reads. Errors are logged, never thrown: metrics must not take the gateway down. */
  async poll(): Promise<void> {
    const { deployments, self, podName, rpsMetric, logger } = this.#options;
    try {
      this.#leader = await this.#isLeader(self, podName);
    } catch (err) {
      logger?.warn("scaling metrics: cannot list this Deployment's pods", { err: String(err) });
    }
    for (const name of deployments) {
      try {
        const d = await this.#source.deployment(name);
        const hpa = await this.#source.hpaFor(name).catch(() => undefined);
        const key = hpa && Object.keys(hpa.metrics).find((k) => k.includes(rpsMetric));
        const effectiveness = key !== undefined ? hpa!.metrics[key] : undefined;
        this.#update(name, d, Number.isFinite(effectiveness) ? effectiveness : undefined);
      } catch (err) {
        logger?.warn("scaling metrics: cannot read the Kubernetes API", { deployment: name, err: String(err) });
      }
    }
  }

  /** The first ready pod (by name) of this pod's Deployment exports; without a pod name this process does. */
  async #isLeader(self: string | undefined, podName: string | undefined): Promise<boolean> {
    if (!podName || !self) return true;
    const d = await this.#source.deployment(self);
    if (!d.selector) return true;
    const pods = await this.#source.readyPods(d.selector);
    return pods.length === 0 || pods[0] === podName;
  }

  #update(name: string, d: DeploymentStatus, effectiveness: number | undefined): void {
    const now = this.#now();
    const prev = this.#states.get(name);
    const state: State = { spec: d.specReplicas, ready: d.readyReplicas, effectiveness, pending: prev?.pending };
    if (prev && d.specReplicas !== prev.spec) {
      const direction = d.specReplicas > prev.spec ? "up" : "down";
      if (this.#leader) this.#events.add(1, { deployment: name, direction });
      // A change that supersedes an unfinished one keeps the earlier start: capacity has been waited for since then.
      state.pending = { since: prev.pending?.since ?? now, direction };
    }
    if (state.pending) {
      const done = state.pending.direction === "up"
        ? d.readyReplicas >= d.specReplicas
        : d.readyReplicas <= d.specReplicas;
      if (done && d.observed) {
        if (this.#leader) {
          this.#duration.record((now - state.pending.since) / 1000, {
            deployment: name,
            direction: state.pending.direction,
          });
        }
        state.pending = undefined;
      }
    }
    this.#states.set(name, state);
  }

  /** Polls every `intervalMs` until stopped. */
  start(intervalMs: number): void {
    if (this.#timer) return;
    void this.poll();
    this.#timer = setInterval(() => void this.poll(), intervalMs);
    Deno.unrefTimer(this.#timer);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
