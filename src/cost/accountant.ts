/**
 * The cost tracker of the request path: prices every finished request (upstream calls cost money; cache hits and
 * deduplicated followers cost nothing and count what they saved), aggregates per tenant, agent and model in time
 * buckets (memory, plus Redis cluster totals), enforces budgets, exports metrics, and builds the profile the
 * recommendation rules read.
 *
 * @module
 */
import type { Counter } from "@opentelemetry/api";
import type { ChatCompletion } from "../gateway/chat_schema.ts";
import type { ChatCall, CostRecord, CostSource, CostTracker } from "../gateway/stages.ts";
import type { Route } from "../providers/registry.ts";
import { BudgetExceededError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { LabelLimiter, type Telemetry } from "../telemetry/telemetry.ts";
import { Budgets, type BudgetStatus } from "./budgets.ts";
import type { CostConfig, Price } from "./config.ts";
import {
  addTotals,
  decodeRow,
  encodeRow,
  type LedgerRows,
  MemoryLedger,
  type RedisCommands,
  RedisLedger,
  type Totals,
  zeroTotals,
} from "./ledger.ts";
import { CacheObservationLog, ResourceSampler, type ScalingObservations } from "./observations.ts";
import { PriceTable } from "./prices.ts";
import { type CostProfile, recommend, type Recommendation } from "./recommendations.ts";
import { countCallTokens } from "./tokens.ts";

/** What one request cost, with the detail behind the number. */
export interface CostDetail extends CostRecord {
  inputTokens: number;
  outputTokens: number;
  /** No price source knows the upstream's model: the cost is 0 and `amas_cost_unpriced_requests_total` counts it. */
  unpriced: boolean;
  /** The model the price was looked up for (the upstream model when a route answered). */
  pricedModel: string;
}

/** Dependencies of a {@linkcode CostAccountant}. */
export interface CostAccountantOptions {
  config: CostConfig;
  telemetry: Telemetry;
  logger: Logger;
  /** Cluster-wide totals go to this Redis when given. */
  redis?: RedisCommands;
  /** Prices configured on routing deployments, by deployment (provider) name. */
  deploymentPrices?: Record<string, Price>;
  /** Replica count from the scaling metrics, when a source is wired. */
  scaling?: ScalingObservations;
  /** Clock (tests). */
  now?: () => number;
}

/** How `GET /v1/costs` groups. */
export type GroupBy = "agent" | "model" | "tenant";

/** Totals with the derived figures of the API. */
export interface SummaryFigures {
  requests: number;
  upstream_requests: number;
  cache_hits: number;
  dedup_hits: number;
  cost_usd: number;
  saved_usd: number;
  saved_cache_usd: number;
  saved_dedup_usd: number;
  input_tokens: number;
  output_tokens: number;
  avg_cost_per_request_usd: number;
  avg_cost_per_upstream_request_usd: number;
  estimated_requests: number;
  unpriced_requests: number;
}

/** The body of `GET /v1/costs`. */
export interface CostSummary {
  by: GroupBy;
  window: string;
  since: string;
  until: string;
  source: "memory" | "redis";
  degraded?: string;
  totals: SummaryFigures;
  groups: (SummaryFigures & { key: string; tenant?: string; agent?: string; model?: string })[];
  budgets: BudgetStatus[];
}

/** Recommendations and what they rest on. */
export interface Advice {
  observedSeconds: number;
  recommendations: Recommendation[];
  notes: string[];
}

/** Which rows a caller may see: one tenant's, or (admin) all of them plus the infrastructure figures. */
export interface Visibility {
  tenant?: string;
  admin: boolean;
}

/** Prices, aggregates and budgets every request. */
export class CostAccountant implements CostTracker {
  readonly prices: PriceTable;
  /** The cache calls this with its lookups and embedding work (see {@linkcode CacheObservationLog}). */
  readonly cacheObservations: CacheObservationLog;
  readonly resources: ResourceSampler;
  readonly budgets: Budgets;
  #config: CostConfig;
  #logger: Logger;
  #now: () => number;
  #startedAt: number;
  #memory: MemoryLedger;
  #redis?: RedisLedger;
  #redisCommands?: RedisCommands;
  #scaling?: ScalingObservations;
  #timer?: ReturnType<typeof setInterval>;
  #flushing?: Promise<void>;
  #redisFailing = false;
  #labels = { agents: new LabelLimiter(200), models: new LabelLimiter(100), tenants: new LabelLimiter(200) };
  #scopes = new LabelLimiter(500);
  #m: {
    cost: Counter;
    saved: Counter;
    tokens: Counter;
    unpriced: Counter;
    estimated: Counter;
    alerts: Counter;
    rejections: Counter;
    flushFailures: Counter;
  };

  constructor(options: CostAccountantOptions) {
    const { config, telemetry } = options;
    this.#config = config;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#startedAt = this.#now();
    this.prices = new PriceTable(config.prices, options.deploymentPrices);
    this.#memory = new MemoryLedger(config);
    this.#scaling = options.scaling;
    if (options.redis) {
      this.#redisCommands = options.redis;
      this.#redis = new RedisLedger(options.redis, {
        prefix: config.redisKeyPrefix,
        retentionHours: config.retentionHours,
        maxPendingFields: config.maxPendingFields,
      });
    }
    this.cacheObservations = new CacheObservationLog({
      nearMissBand: config.recommendations.nearMissBand,
      prices: this.prices,
      cpuCoreHourUsd: config.container.cpuCoreHourUsd,
    });
    this.resources = new ResourceSampler(config.container.sampleMs);

    const m = telemetry.meter;
    this.#m = {
      cost: m.createCounter("amas_cost_usd", { description: "upstream spend in USD, by agent, model and tenant" }),
      saved: m.createCounter("amas_cost_saved_usd", {
        description: "USD not spent because the cache or deduplication answered, by reason (cache, dedup)",
      }),
      tokens: m.createCounter("amas_tokens", { description: "tokens billed by upstreams, by direction and model" }),
      unpriced: m.createCounter("amas_cost_unpriced_requests", {
        description: "upstream requests whose model has no price (counted at 0 USD), by model",
      }),
      estimated: m.createCounter("amas_cost_estimated_requests", {
        description: "requests whose tokens were estimated with a tokenizer (no usage from the upstream), by model",
      }),
      alerts: m.createCounter("amas_budget_alerts", {
        description: "budget limits crossed, by scope, window (daily, monthly) and level (soft, hard)",
      }),
      rejections: m.createCounter("amas_budget_rejections", {
        description: "requests rejected because a hard budget was exhausted, by scope",
      }),
      flushFailures: m.createCounter("amas_cost_redis_flush_failures", {
        description: "failed pushes of cost totals to Redis (they stay pending and are retried)",
      }),
    };
    m.createObservableGauge("amas_budget_utilization_ratio", {
      description: "spend of a budget over its hard limit (else its soft limit), by scope and window",
    }).addCallback((r) => {
      for (const s of this.budgets.statuses(this.#now())) {
        r.observe(s.utilization, { scope: this.#scopes.label(s.scope), window: s.window });
      }
    });

    this.budgets = new Budgets(config.budgets, {
      alert: (budget, level, spent) => {
        this.#m.alerts.add(1, { scope: this.#scopes.label(budget.scope), window: budget.window, level });
        this.#logger.warn(`budget ${level} limit reached`, {
          scope: budget.scope,
          window: budget.window,
          spentUsd: Number(spent.toFixed(6)),
          limitUsd: budget[level],
          setting: budget.setting,
        });
      },
    }, this.#redis);

    if (this.#redis) {
      const redis = this.#redis;
      m.createObservableGauge("amas_cost_redis_pending_fields", {
        description: "cost increments waiting for the next push to Redis (grows while Redis is unreachable)",
      }).addCallback((r) => r.observe(redis.pendingFields));
      m.createObservableCounter("amas_cost_redis_dropped_increments", {
        description: "cost increments dropped because Redis stayed unreachable past cost.maxPendingFields",
      }).addCallback((r) => r.observe(redis.dropped));
      this.#timer = setInterval(() => void this.flush(), config.flushMs);
      Deno.unrefTimer(this.#timer);
    }
  }

  checkBudget(call: ChatCall): Promise<void> {
    try {
      this.budgets.check(call.tenant, call.agentId, this.#now());
    } catch (err) {
      if (err instanceof BudgetExceededError) this.#m.rejections.add(1, { scope: this.#scopes.label(err.scope ?? "") });
      return Promise.reject(err);
    }
    return Promise.resolve();
  }

  record(call: ChatCall, completion: ChatCompletion, source: CostSource, route?: Route): CostDetail {
    try {
      return this.#record(call, completion, source, route);
    } catch (err) {
      // Accounting must never fail an answer the client already has; the miss is logged.
      this.#logger.error("cost accounting failed", { requestId: call.requestId, err: String(err) });
      const pricedModel = call.request.model;
      return {
        costUsd: 0,
        savedUsd: 0,
        estimated: false,
        inputTokens: 0,
        outputTokens: 0,
        unpriced: true,
        pricedModel,
      };
    }
  }

  #record(call: ChatCall, completion: ChatCompletion, source: CostSource, route?: Route): CostDetail {
    const now = this.#now();
    const model = call.request.model;
    // Price what actually answered: the route's upstream model, or the model a cached answer names.
    const pricedModel = route?.upstreamModel ?? (completion.model || model);
    const tokens = countCallTokens(call.request, completion);
    let priced = this.prices.price(pricedModel, tokens, route?.provider.name);
    if (priced.source === "none" && pricedModel !== model) priced = this.prices.price(model, tokens);
    const unpriced = priced.source === "none";
    const upstream = source === "upstream";
    const costUsd = upstream ? priced.costUsd : 0;
    const savedUsd = upstream ? 0 : priced.costUsd;

    const deltas: Partial<Totals> = {
      requests: 1,
      upstream_requests: upstream ? 1 : 0,
      cache_hits: source === "cache" ? 1 : 0,
      dedup_hits: source === "dedup" ? 1 : 0,
      cost_usd: costUsd,
      saved_cache_usd: source === "cache" ? savedUsd : 0,
      saved_dedup_usd: source === "dedup" ? savedUsd : 0,
      input_tokens: upstream ? tokens.input : 0,
      output_tokens: upstream ? tokens.output : 0,
      estimated: tokens.estimated ? 1 : 0,
      unpriced: unpriced && upstream ? 1 : 0,
    };
    const row = encodeRow({ tenant: call.tenant, agent: call.agentId, model });
    this.#memory.add(now, row, deltas);
    this.#redis?.add(now, row, deltas);
    this.budgets.add(call.tenant, call.agentId, costUsd, now);
    // The cache's embedding of this prompt shows as the request's `embed` timing span: price it as CPU time.
    const embedMs = call.timing?.get("embed") ?? 0;
    if (embedMs > 0) this.cacheObservations.embedding({ tenant: call.tenant, agent: call.agentId, cpuMs: embedMs });

    const modelLabel = this.#labels.models.label(model);
    if (upstream) {
      this.#m.cost.add(costUsd, {
        agent: this.#labels.agents.label(call.agentId),
        model: modelLabel,
        tenant: this.#labels.tenants.label(call.tenant),
      });
      this.#m.tokens.add(tokens.input, { direction: "input", model: modelLabel });
      this.#m.tokens.add(tokens.output, { direction: "output", model: modelLabel });
      if (unpriced) this.#m.unpriced.add(1, { model: modelLabel });
    } else if (savedUsd > 0) {
      this.#m.saved.add(savedUsd, { reason: source });
    }
    if (tokens.estimated) this.#m.estimated.add(1, { model: modelLabel });
    // The per-request record, for audits (AMAS_LOG_LEVEL=debug); the client has the same number in x-amas-cost-usd.
    this.#logger.debug("request priced", {
      requestId: call.requestId,
      tenant: call.tenant,
      agent: call.agentId,
      model,
      pricedModel,
      source,
      priceSource: priced.source,
      inputTokens: tokens.input,
      outputTokens: tokens.output,
      estimated: tokens.estimated,
      costUsd,
      savedUsd,
    });

    return {
      costUsd,
      savedUsd,
      estimated: tokens.estimated,
      inputTokens: tokens.input,
      outputTokens: tokens.output,
      // A hit or a follower costs 0 whatever the price: only an upstream call's 0 can be for want of one.
      unpriced: unpriced && upstream,
      pricedModel,
    };
  }

  /** Pushes pending increments to Redis and reads back budget spend; never throws. */
  flush(): Promise<void> {
    if (!this.#redis) return Promise.resolve();
    // One flush at a time: an overlapping one would find the batch already taken anyway.
    this.#flushing ??= (async () => {
      try {
        const spend = await this.#redis!.flush(this.budgets.reads(this.#now()));
        this.budgets.updateCluster(spend);
        if (this.#redisFailing) this.#logger.info("cost totals reach redis again");
        this.#redisFailing = false;
      } catch (err) {
        this.#m.flushFailures.add(1);
        if (!this.#redisFailing) {
          this.#logger.warn("cannot push cost totals to redis; counting locally and retrying", { err: String(err) });
        }
        this.#redisFailing = true;
      } finally {
        this.#flushing = undefined;
      }
    })();
    return this.#flushing;
  }

  /** Rows of the window ending now: cluster-wide from Redis when it answers, else this replica's. */
  async rows(windowMs: number): Promise<LedgerRows> {
    const now = this.#now();
    const since = now - windowMs;
    const local = (): LedgerRows => ({
      rows: this.#memory.query(since, now),
      source: "memory",
      // Observed since this replica started (idle time is observation too), at most the window.
      sinceMs: Math.max(since, this.#startedAt),
    });
    if (!this.#redis) return local();
    try {
      const { rows, sinceMs } = await this.#redis.query(since, now);
      return { rows, source: "redis", sinceMs: Math.max(since, sinceMs) };
    } catch (err) {
      return { ...local(), degraded: `redis unavailable (${String(err)}); figures of this replica only` };
    }
  }

  /** The body of `GET /v1/costs`. */
  async summary(by: GroupBy, window: { label: string; ms: number }, who: Visibility): Promise<CostSummary> {
    const now = this.#now();
    const data = await this.rows(window.ms);
    const total = zeroTotals();
    const groups = new Map<string, { totals: Totals; tenant?: string; agent?: string; model?: string }>();
    for (const [key, totals] of data.rows) {
      const row = decodeRow(key);
      if (!row || (who.tenant !== undefined && row.tenant !== who.tenant)) continue;
      addTotals(total, totals);
      const g = by === "agent"
        ? { id: `${row.tenant}/${row.agent}`, tenant: row.tenant, agent: row.agent, key: row.agent }
        : by === "model"
        ? { id: row.model, model: row.model, key: row.model }
        : { id: row.tenant, tenant: row.tenant, key: row.tenant };
      let acc = groups.get(g.id);
      if (!acc) groups.set(g.id, acc = { totals: zeroTotals(), tenant: g.tenant, agent: g.agent, model: g.model });
      addTotals(acc.totals, totals);
    }
    return {
      by,
      window: window.label,
      since: new Date(data.sinceMs).toISOString(),
      until: new Date(now).toISOString(),
      source: data.source,
      ...(data.degraded ? { degraded: data.degraded } : {}),
      totals: figures(total),
      groups: [...groups.entries()].map(([id, g]) => ({
        key: by === "agent" ? g.agent! : id,
        ...(g.tenant !== undefined ? { tenant: g.tenant } : {}),
        ...(g.agent !== undefined ? { agent: g.agent } : {}),
        ...(g.model !== undefined ? { model: g.model } : {}),
        ...figures(g.totals),
      })).sort((a, b) => b.cost_usd - a.cost_usd || a.key.localeCompare(b.key)),
      budgets: this.budgets.statuses(now, who.admin ? undefined : who.tenant),
    };
  }

  /** A snapshot of the measurements over the window, for the rules (and for recording). */
  async profile(windowMs: number, who: Visibility): Promise<CostProfile> {
    const now = this.#now();
    const data = await this.rows(windowMs);
    const observedSeconds = Math.max(1, (now - data.sinceMs) / 1000);
    const rows: CostProfile["rows"] = [];
    let requests = 0;
    for (const [key, totals] of data.rows) {
      const row = decodeRow(key);
      if (!row) continue;
      requests += totals.requests;
      if (who.tenant !== undefined && !who.admin && row.tenant !== who.tenant) continue;
      rows.push({ ...row, ...totals });
    }
    const profile: CostProfile = {
      version: 1,
      observedSeconds,
      rows,
      cache: this.cacheObservations.figures(who.admin ? undefined : who.tenant),
      prices: this.#config.prices,
    };
    if (who.admin) {
      const c = this.#config;
      const replicas = this.#scaling?.replicas() ?? c.scaling.replicas ?? c.scaling.minReplicas;
      // Cluster rows hold every replica's requests; memory rows this replica's only.
      const perReplica = data.source === "redis" ? replicas : 1;
      const buckets = this.#memory.requestsPerBucket(now - windowMs, now);
      const peakPerBucket = Math.max(0, ...buckets.counts);
      const bucketSeconds = Math.min(buckets.bucketMs / 1000, observedSeconds);
      profile.scaling = {
        replicas,
        minReplicas: c.scaling.minReplicas,
        targetRpsPerReplica: c.scaling.targetRpsPerReplica,
        rpsPerReplica: requests / observedSeconds / perReplica,
        peakRpsPerReplica: peakPerBucket / bucketSeconds,
      };
      this.resources.sample();
      profile.container = {
        cpuRequestCores: c.container.cpuRequestCores,
        memoryRequestBytes: c.container.memoryRequestBytes,
        cpuCoreHourUsd: c.container.cpuCoreHourUsd,
        memoryGibHourUsd: c.container.memoryGibHourUsd,
        replicas,
        observed: this.resources.figures(),
      };
    }
    return profile;
  }

  /** The recommendations for the window, with the span they rest on and why there may be none. */
  async advise(windowMs: number, who: Visibility): Promise<Advice> {
    const profile = await this.profile(windowMs, who);
    const min = this.#config.recommendations.minObservedSeconds;
    // Extrapolating a few seconds of traffic to a month says nothing; wait for a meaningful span.
    if (profile.observedSeconds < min) {
      return {
        observedSeconds: profile.observedSeconds,
        recommendations: [],
        notes: [
          `the figures span ${Math.round(profile.observedSeconds)} s, less than ` +
          `cost.recommendations.minObservedSeconds (${min} s); recommendations follow once they do`,
        ],
      };
    }
    const recommendations = recommend(profile, this.prices, this.#config.recommendations);
    return { observedSeconds: profile.observedSeconds, recommendations, notes: [] };
  }

  /** Stops the timers, pushes what is pending, and closes the Redis connection. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.resources.close();
    await this.flush();
    (this.#redisCommands as { close?: () => void } | undefined)?.close?.();
  }
}

function figures(t: Totals): SummaryFigures {
  return {
    requests: t.requests,
    upstream_requests: t.upstream_requests,
    cache_hits: t.cache_hits,
    dedup_hits: t.dedup_hits,
    cost_usd: t.cost_usd,
    saved_usd: t.saved_cache_usd + t.saved_dedup_usd,
    saved_cache_usd: t.saved_cache_usd,
    saved_dedup_usd: t.saved_dedup_usd,
    input_tokens: t.input_tokens,
    output_tokens: t.output_tokens,
    avg_cost_per_request_usd: t.requests ? t.cost_usd / t.requests : 0,
    avg_cost_per_upstream_request_usd: t.upstream_requests ? t.cost_usd / t.upstream_requests : 0,
    estimated_requests: t.estimated,
    unpriced_requests: t.unpriced,
  };
}
