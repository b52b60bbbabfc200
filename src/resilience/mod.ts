/**
 * Resilience: builds the upstream invoker (retry, bulkhead, circuit breaker, timeout, fallback chain,
 * serve-stale), the rate limiter (memory or Redis), the single-flight deduplicator, their metrics and the
 * `GET /v1/resilience` report, from the `resilience` configuration. `src/wiring.ts` calls
 * {@linkcode createResilience} once.
 *
 * @module
 */
import { createClient, type RedisClientType } from "redis";
import type { RouteMounter } from "../app.ts";
import type { Logger } from "../log.ts";
import type { ProviderRegistry, Route } from "../providers/registry.ts";
import type { GatewayMetrics } from "../telemetry/gateway_metrics.ts";
import type { Telemetry } from "../telemetry/telemetry.ts";
import { DirectUpstream } from "../gateway/direct_upstream.ts";
import type { AdmissionController } from "./admission.ts";
import { policyFor, type ResilienceConfig } from "./config.ts";
import { SingleFlight } from "./dedup.ts";
import { breakerStateValue, type ProviderHealth } from "./health.ts";
import { ResilienceMetrics } from "./metrics.ts";
import { ProviderPolicies } from "./provider_policy.ts";
import { ResilientUpstream, type StaleSource } from "./resilient_upstream.ts";
import { TenantRateLimiter } from "./rate_limiter.ts";

export type { BreakerState, ProviderHealth } from "./health.ts";
export type { StaleSource } from "./resilient_upstream.ts";
export { AdmissionController } from "./admission.ts";
export { SingleFlight } from "./dedup.ts";
export { ProviderPolicies, ProviderPolicy } from "./provider_policy.ts";
export { ResilientUpstream } from "./resilient_upstream.ts";
export { estimateTokens, TenantRateLimiter } from "./rate_limiter.ts";

/** What resilience is built from. */
export interface ResilienceDeps {
  config: ResilienceConfig;
  registry: ProviderRegistry;
  telemetry: Telemetry;
  metrics: GatewayMetrics;
  admission: AdmissionController;
  logger: Logger;
  /** `REDIS_URL`: cluster-wide rate limits when set. */
  redisUrl?: string;
  /** The response cache (looked up per call), used for serve-stale-on-error when it can give stale entries. */
  stale?: () => StaleSource | undefined;
}

/** The built resilience stages. */
export interface Resilience {
  upstream: ResilientUpstream;
  limiter?: TenantRateLimiter;
  dedup?: SingleFlight;
  /** Breaker health for the router. */
  health: ProviderHealth;
  policies: ProviderPolicies;
  /** Mounts `GET /v1/resilience`. */
  mount: RouteMounter;
  /** The report `GET /v1/resilience` answers (limits shown for one tenant/agent). */
  report(tenant: string, agent: string): Record<string, unknown>;
  /** Resolves once the rate limiter's Redis is connected, or after `timeoutMs` (false then). */
  redisReady(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Whether a value offers `stale(call)` (a cache that keeps expired entries). */
export function asStaleSource(value: unknown): StaleSource | undefined {
  return typeof (value as StaleSource | undefined)?.stale === "function" ? value as StaleSource : undefined;
}

/** Builds the resilience stages. Throws at start-up when a configured fallback model is not routed. */
export function createResilience(deps: ResilienceDeps): Resilience {
  const { config, registry, telemetry, logger } = deps;
  const m = new ResilienceMetrics(telemetry);
  // A failure domain `provider/model` takes the settings of its provider.
  const policies = new ProviderPolicies((domain) => policyFor(config, domain.split("/")[0]), {
    onTransition(provider, from, to) {
      m.breakerTransitions.add(1, { provider, from, to });
      logger.warn("circuit breaker state changed", { provider, from, to });
    },
    onRetry: (provider, outcome) => m.retries.add(1, { provider, outcome }),
    onBulkheadReject: (provider, reason) => m.bulkheadRejections.add(1, { provider, reason }),
  });
  telemetry.meter.createObservableGauge("amas_circuit_breaker_state", {
    description: "circuit breaker state per provider: 0 closed, 1 half-open, 2 open",
  }).addCallback((r) => {
    const names = new Set([...registry.all().map((p) => p.name), ...policies.all().map((p) => p.provider)]);
    for (const provider of names) r.observe(breakerStateValue(policies.state(provider)), { provider });
  });

  const fallbackRoutes = resolveFallbacks(config.fallbacks, registry);
  const upstream = new ResilientUpstream({
    direct: new DirectUpstream(deps.metrics),
    policies,
    fallbacks: (model) => fallbackRoutes.get(model) ?? [],
    stale: config.serveStale ? deps.stale : undefined,
    onFallback: (from, reason) => m.fallbacks.add(1, { provider: from.provider.name, reason }),
    onStale: () => m.staleServed.add(1),
  });

  let redis: RedisClientType | undefined;
  let connected: Promise<unknown> = Promise.resolve();
  if (deps.redisUrl && config.rateLimits.enabled) {
    redis = createRedis(deps.redisUrl, logger);
    connected = redis.connect().catch((err) => logger.warn("rate limits: redis connect failed", { err: String(err) }));
  }
  const limiter = config.rateLimits.enabled
    ? new TenantRateLimiter(config.rateLimits, {
      redis,
      onReject: (reason) => m.rateLimitRejections.add(1, { reason }),
      onDegraded: () => m.rateLimitDegraded.add(1),
    })
    : undefined;
  const dedup = config.dedup ? new SingleFlight({ onJoin: () => m.dedupJoins.add(1) }) : undefined;

  function report(tenant: string, agent: string): Record<string, unknown> {
    const names = new Set([...registry.all().map((p) => p.name), ...policies.all().map((p) => p.provider)]);
    const providers: Record<string, unknown> = {};
    for (const name of [...names].sort()) {
      const policy = policies.for(name);
      providers[name] = {
        state: policy.state,
        refusing: policy.refusing,
        in_flight: policy.load.active,
        queued: policy.load.queued,
        policy: policy.config,
      };
    }
    const a = deps.admission;
    return {
      providers,
      fallbacks: config.fallbacks,
      serve_stale: config.serveStale && deps.stale?.() !== undefined,
      rate_limits: {
        enabled: config.rateLimits.enabled,
        backend: limiter?.backend ?? "off",
        window_seconds: 60,
        tenant_default: config.rateLimits.tenant,
        agent_default: config.rateLimits.agent,
        // Only the caller's own named limits: another tenant's name and limits are not its business.
        tenants: pick(config.rateLimits.tenants, (name) => name === tenant),
        agents: pick(config.rateLimits.agents, (name) => !name.includes("/") || name.startsWith(`${tenant}/`)),
        yours: limiter?.limitsFor(tenant, agent),
      },
      admission: {
        in_flight: a.inFlight,
        queue_depth: a.queueDepth,
        max_in_flight: a.options.maxInFlight,
        max_queue: a.options.maxQueue,
        max_queue_wait_ms: a.options.maxQueueWaitMs,
        slo_shedding: a.options.sloShedding !== false,
        service_time_ms: round(a.serviceTimeMs),
        expected_wait_ms: round(a.expectedWaitMs),
      },
      dedup: { enabled: dedup !== undefined, in_flight: dedup?.inFlight ?? 0 },
    };
  }

  return {
    upstream,
    limiter,
    dedup,
    health: policies,
    policies,
    mount(app) {
      app.get("/v1/resilience", (c) => c.json(report(c.get("tenant"), c.req.header("x-amas-agent") || "default")));
    },
    report,
    async redisReady(timeoutMs = 5_000) {
      if (!redis) return false;
      const deadline = Date.now() + timeoutMs;
      await Promise.race([connected, new Promise((r) => setTimeout(r, timeoutMs))]);
      while (!redis.isReady && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      return redis.isReady;
    },
    async close() {
      policies.close();
      try {
        redis?.destroy();
      } catch { /* already closed */ }
      await Promise.resolve();
    },
  };
}

function pick<V>(record: Record<string, V>, keep: (key: string) => boolean): Record<string, V> {
  return Object.fromEntries(Object.entries(record).filter(([k]) => keep(k)));
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

/** Resolves `resilience.fallbacks` once, at start-up, so that a typo stops the gateway with a clear message. */
function resolveFallbacks(fallbacks: Record<string, string[]>, registry: ProviderRegistry): Map<string, Route[]> {
  const out = new Map<string, Route[]>();
  for (const [model, chain] of Object.entries(fallbacks)) {
    out.set(
      model,
      chain.map((next) => {
        try {
          return registry.resolve(next);
        } catch (err) {
          throw new Error(`resilience.fallbacks.${model}: ${(err as Error).message}`);
        }
      }),
    );
  }
  return out;
}

/**
 * The rate limiter's own Redis connection: RESP2, no offline queue (a command while disconnected fails at once
 * and the local limiter decides), a short connect timeout, and reconnects backing off to 2 s.
 */
function createRedis(url: string, logger: Logger): RedisClientType {
  const client = createClient({
    url,
    RESP: 2,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 2_000,
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2_000),
    },
  }) as unknown as RedisClientType;
  let down = false;
  client.on("error", (err: Error) => {
    // One line per outage, not one per reconnect attempt.
    if (!down) logger.warn("rate limits: redis unavailable, using local limits", { err: String(err) });
    down = true;
  });
  client.on("ready", () => {
    if (down) logger.info("rate limits: redis is back, limits are cluster-wide again");
    down = false;
  });
  return client;
}
