/**
 * The deployment router: for a model listed in `routing.models` it orders the model's deployments for each call,
 * best first, and hands the upstream invoker that list as its fallback chain. Deployments whose breaker refuses
 * calls, that are saturated, or that slow start holds back go after the ready ones, in that order of preference;
 * a deployment whose breaker's break has elapsed goes first, so the breaker gets the probe that can close it.
 * Models not listed are routed as before, by the provider registry.
 *
 * @module
 */
import type { ChatCall, Router } from "../gateway/stages.ts";
import type { DeploymentConfig } from "../providers/config.ts";
import type { ProviderRegistry, Route } from "../providers/registry.ts";
import type { ModelRoutingConfig, RoutingConfig, RoutingPolicyName } from "./config.ts";
import type { Candidate, Deployment } from "./deployment.ts";
import { type DeploymentHealth, NO_BREAKERS } from "./health.ts";
import { DeploymentStats } from "./latency.ts";
import type { RoutingMetrics } from "./metrics.ts";
import { ObservedProvider } from "./observed_provider.ts";
import { POLICIES, type RoutingPolicy } from "./policies.ts";

/** Share of calls a deployment gets at the very start of its slow start, relative to a ready one. */
const SLOW_START_FLOOR = 0.1;

/** What a {@linkcode DeploymentRouter} is built from. */
export interface DeploymentRouterOptions {
  registry: ProviderRegistry;
  routing: RoutingConfig;
  deployments: Record<string, DeploymentConfig>;
  health?: DeploymentHealth;
  metrics?: RoutingMetrics;
  /** Monotonic clock in ms (tests pass their own). */
  now?: () => number;
  /** Uniform random numbers in [0, 1) (tests pass a seeded one). */
  random?: () => number;
}

interface ModelRoute {
  name: string;
  config: ModelRoutingConfig;
  policy: RoutingPolicy;
  candidates: Candidate[];
  /** Metric labels of `amas_routing_selected_total`, per candidate index, built once. */
  labels: { model: string; deployment: string; policy: RoutingPolicyName }[];
}

/** One deployment as `GET /v1/routing` shows it. */
export interface DeploymentSnapshot {
  type: string;
  health: string;
  refusing: boolean;
  saturated: boolean;
  slow_start_ramp: number;
  in_flight: number;
  max_concurrency: number | null;
  /** Whole JSON answers. */
  latency_ewma_ms: number | null;
  peak_ewma_ms: number | null;
  /** Streams, to their first chunk. */
  ttft_ewma_ms: number | null;
  ttft_peak_ewma_ms: number | null;
  error_rate: number;
  requests: number;
  errors: number;
  weight: number;
  priority: number;
  input_per_mtok: number | null;
  output_per_mtok: number | null;
}

/** The routing state `GET /v1/routing` reports. */
export interface RoutingSnapshot {
  models: Record<string, {
    policy: RoutingPolicyName;
    latency_target_ms: number | null;
    stream_latency_target_ms: number | null;
    deployments: { name: string; upstream_model: string; selected: number; effective_weight: number }[];
  }>;
  deployments: Record<string, DeploymentSnapshot>;
  settings: { ewma_decay_ms: number; slow_start_ms: number; error_penalty_ms: number; initial_latency_ms: number };
}

/** Routes models over their deployments. */
export class DeploymentRouter implements Router {
  #registry: ProviderRegistry;
  #routing: RoutingConfig;
  readonly #health: DeploymentHealth;
  #metrics?: RoutingMetrics;
  #now: () => number;
  #random: () => number;
  #deployments = new Map<string, Deployment>();
  #models = new Map<string, ModelRoute>();

  constructor(options: DeploymentRouterOptions) {
    this.#registry = options.registry;
    this.#routing = options.routing;
    this.#health = options.health ?? NO_BREAKERS;
    this.#metrics = options.metrics;
    this.#metrics?.selected.addCallback((r) => {
      for (const m of this.#models.values()) {
        m.candidates.forEach((c, i) => r.observe(c.selected, m.labels[i]));
      }
    });
    this.#now = options.now ?? (() => performance.now());
    this.#random = options.random ?? Math.random;
    for (const [model, config] of Object.entries(options.routing.models)) {
      const candidates = config.deployments.map((name) => {
        const deployment = this.#deployment(name, options.deployments[name]);
        const provider = this.#registry.get(name);
        if (!provider) {
          throw new Error(`routing.models.${model}: deployment "${name}" has no provider; is it configured?`);
        }
        const observed = new ObservedProvider(provider, {
          model,
          stats: deployment.stats,
          metrics: this.#metrics,
          errorPenaltyMs: options.routing.errorPenaltyMs,
          now: this.#now,
        });
        const route: Route = { provider: observed, upstreamModel: deployment.config.model ?? model };
        return { deployment, route, current: 0, score: 0, price: 0, meets: false, selected: 0 };
      });
      this.#models.set(model, {
        name: model,
        config,
        policy: POLICIES[config.policy],
        candidates,
        labels: candidates.map((c) => ({ model, deployment: c.deployment.name, policy: config.policy })),
      });
    }
  }

  /** The routes of a call, best first. */
  candidates(call: ChatCall): Route[] {
    const model = this.#models.get(call.request.model);
    if (!model) return [this.#registry.resolve(call.request.model)];
    return this.#order(model, call);
  }

  #order(model: ModelRoute, call: ChatCall): Route[] {
    const now = this.#now();
    const health = this.#health;
    const ready: Candidate[] = [];
    let probing: Candidate[] | undefined;
    let held: Candidate[] | undefined;
    let saturated: Candidate[] | undefined;
    let refusing: Candidate[] | undefined;
    for (const c of model.candidates) {
      const d = c.deployment;
      const state = health.state(d.name);
      if (state !== "closed") {
        d.wasDown = true;
        if (health.isOpen(d.name)) (refusing ??= []).push(c);
        else (probing ??= []).push(c);
        continue;
      }
      if (d.wasDown) {
        d.wasDown = false;
        d.recoveredAt = now;
      }
      if (
        (d.config.maxConcurrency !== undefined && d.stats.inFlight >= d.config.maxConcurrency) ||
        health.saturated?.(d.name)
      ) {
        (saturated ??= []).push(c);
        continue;
      }
      const ramp = this.#ramp(d, now);
      if (ramp < 1 && this.#random() >= ramp) {
        (held ??= []).push(c);
        continue;
      }
      ready.push(c);
    }
    const ordered = ready.length > 1
      ? model.policy.order(ready, {
        now,
        random: this.#random,
        request: call.request,
        model: model.config,
        kind: call.request.stream ? "stream" : "json",
      })
      : ready;
    const out: Route[] = [];
    if (probing) { for (const c of probing) out.push(c.route); }
    for (const c of ordered) out.push(c.route);
    if (held) { for (const c of held) out.push(c.route); }
    if (saturated) {
      saturated.sort((a, b) => a.deployment.stats.inFlight - b.deployment.stats.inFlight);
      for (const c of saturated) out.push(c.route);
    }
    if (refusing) { for (const c of refusing) out.push(c.route); }
    const first = probing?.[0] ?? ordered[0] ?? held?.[0] ?? saturated?.[0] ?? refusing![0];
    first.selected++;
    return out;
  }

  /** Slow start: the share of its traffic a recovering deployment is admitted to, ramping linearly to 1. */
  #ramp(d: Deployment, now: number): number {
    const slowStart = this.#routing.slowStartMs;
    const elapsed = now - d.recoveredAt;
    if (slowStart <= 0 || elapsed >= slowStart) return 1;
    return Math.max(SLOW_START_FLOOR, elapsed / slowStart);
  }

  #deployment(name: string, config: DeploymentConfig | undefined): Deployment {
    let d = this.#deployments.get(name);
    if (d) return d;
    if (!config) throw new Error(`routing: deployment "${name}" is not in providers.deployments; add it there`);
    d = {
      name,
      config,
      stats: new DeploymentStats(name, {
        tauMs: this.#routing.ewmaDecayMs,
        initialMs: this.#routing.initialLatencyMs,
      }, this.#now()),
      wasDown: false,
      recoveredAt: Number.NEGATIVE_INFINITY,
    };
    this.#deployments.set(name, d);
    return d;
  }

  /** The live statistics of a deployment (tests, gauges). */
  stats(deployment: string): DeploymentStats | undefined {
    return this.#deployments.get(deployment)?.stats;
  }

  /** Every routed deployment's statistics. */
  allStats(): DeploymentStats[] {
    return [...this.#deployments.values()].map((d) => d.stats);
  }

  /** Policies, deployments, latency estimates, weights and health, for `GET /v1/routing`. */
  snapshot(): RoutingSnapshot {
    const now = this.#now();
    const r = this.#routing;
    const models: RoutingSnapshot["models"] = {};
    for (const m of this.#models.values()) {
      models[m.name] = {
        policy: m.config.policy,
        latency_target_ms: m.config.latencyTargetMs ?? null,
        stream_latency_target_ms: m.config.streamLatencyTargetMs ?? null,
        deployments: m.candidates.map((c) => ({
          name: c.deployment.name,
          upstream_model: c.route.upstreamModel,
          selected: c.selected,
          effective_weight: round(c.deployment.config.weight * this.#ramp(c.deployment, now)),
        })),
      };
    }
    const deployments: Record<string, DeploymentSnapshot> = {};
    for (const d of this.#deployments.values()) {
      const s = d.stats;
      deployments[d.name] = {
        type: d.config.type,
        health: this.#health.state(d.name),
        refusing: this.#health.isOpen(d.name),
        saturated: (d.config.maxConcurrency !== undefined && s.inFlight >= d.config.maxConcurrency) ||
          (this.#health.saturated?.(d.name) ?? false),
        slow_start_ramp: round(this.#ramp(d, now)),
        in_flight: s.inFlight,
        max_concurrency: d.config.maxConcurrency ?? null,
        latency_ewma_ms: s.measured("json") ? round(s.smoothMs(now, "json")) : null,
        peak_ewma_ms: s.measured("json") ? round(s.peakMs(now, "json")) : null,
        ttft_ewma_ms: s.measured("stream") ? round(s.smoothMs(now, "stream")) : null,
        ttft_peak_ewma_ms: s.measured("stream") ? round(s.peakMs(now, "stream")) : null,
        error_rate: round(s.errorRate, 3),
        requests: s.requests,
        errors: s.errors,
        weight: d.config.weight,
        priority: d.config.priority,
        input_per_mtok: d.config.inputPerMTok ?? null,
        output_per_mtok: d.config.outputPerMTok ?? null,
      };
    }
    return {
      models,
      deployments,
      settings: {
        ewma_decay_ms: r.ewmaDecayMs,
        slow_start_ms: r.slowStartMs,
        error_penalty_ms: r.errorPenaltyMs,
        initial_latency_ms: r.initialLatencyMs,
      },
    };
  }
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
