/**
 * Rate limits per tenant and per agent, in requests per minute and (estimated) tokens per minute, with
 * `rate-limiter-flexible`: in memory for one process, or in Redis (an atomic Lua INCR + TTL per key) when
 * `REDIS_URL` is set, so that every replica shares one limit. Redis that is down or slow never fails a request:
 * after `redisTimeoutMs`, or at once when the connection is not ready, the local in-memory limiter decides.
 * Rejections are 429 with `Retry-After` and the IETF draft `RateLimit-Limit/Remaining/Reset` headers.
 *
 * @module
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { RedisClientType } from "redis";
import { type ChatCompletion, messageText } from "../gateway/chat_schema.ts";
import type { ChatCall, RateLimiter, RateLimitStatus } from "../gateway/stages.ts";
import { RateLimitError } from "../errors.ts";
import type { RateLimitsConfig } from "./config.ts";

/** Which limit a request met. */
export type LimitReason = "tenant_requests" | "tenant_tokens" | "agent_requests" | "agent_tokens";

/** Options of {@linkcode TenantRateLimiter}. */
export interface TenantRateLimiterOptions {
  /** A connected (or connecting) node-redis client; absent: in-memory limits only. */
  redis?: RedisClientType;
  onReject?: (reason: LimitReason) => void;
  /** Called when Redis did not decide and the local limiter did. */
  onDegraded?: () => void;
}

type Kind = "requests" | "tokens";
type Limiter = RateLimiterMemory | RateLimiterRedis;

interface Check {
  reason: LimitReason;
  kind: Kind;
  key: string;
  limit: number;
  points: number;
}

interface Outcome {
  check: Check;
  res: RateLimiterRes;
  allowed: boolean;
  via: Limiter;
}

const WINDOW_SECONDS = 60;

/** Estimated tokens of a request before it runs: about four characters a token, plus the completion allowance. */
export function estimateTokens(call: Pick<ChatCall, "request">, defaultCompletionTokens: number): number {
  let chars = 0;
  for (const m of call.request.messages) chars += messageText(m).length;
  const completion = call.request.max_completion_tokens ?? call.request.max_tokens ?? defaultCompletionTokens;
  return Math.max(1, Math.ceil(chars / 4) + 4 * call.request.messages.length + completion * (call.request.n ?? 1));
}

/** The rate limiter of the request path. */
export class TenantRateLimiter implements RateLimiter {
  #config: RateLimitsConfig;
  #redis?: RedisClientType;
  #local = new Map<string, RateLimiterMemory>();
  #shared = new Map<string, RateLimiterRedis>();
  #onReject?: (reason: LimitReason) => void;
  #onDegraded?: () => void;

  constructor(config: RateLimitsConfig, options: TenantRateLimiterOptions = {}) {
    this.#config = config;
    this.#redis = options.redis;
    this.#onReject = options.onReject;
    this.#onDegraded = options.onDegraded;
  }

  /** Where limits are counted right now. */
  get backend(): "memory" | "redis" | "memory (redis unavailable)" {
    if (!this.#redis) return "memory";
    return this.#redis.isReady ? "redis" : "memory (redis unavailable)";
  }

  /** The limits of a tenant and one of its agents (0: unlimited). */
  limitsFor(tenant: string, agent: string): Record<LimitReason, number> {
    const c = this.#config;
    const t = c.tenants[tenant] ?? {};
    const a = c.agents[`${tenant}/${agent}`] ?? c.agents[agent] ?? {};
    return {
      tenant_requests: t.requestsPerMinute ?? c.tenant.requestsPerMinute,
      tenant_tokens: t.tokensPerMinute ?? c.tenant.tokensPerMinute,
      agent_requests: a.requestsPerMinute ?? c.agent.requestsPerMinute,
      agent_tokens: a.tokensPerMinute ?? c.agent.tokensPerMinute,
    };
  }

  async admit(call: ChatCall): Promise<RateLimitStatus | undefined> {
    if (!this.#config.enabled) return;
    const limits = this.limitsFor(call.tenant, call.agentId);
    const tokens = estimateTokens(call, this.#config.defaultCompletionTokens);
    const tKey = tenantKey(call.tenant);
    const aKey = agentKey(call.tenant, call.agentId);
    const checks: Check[] = [
      { reason: "tenant_requests", kind: "requests", key: tKey, limit: limits.tenant_requests, points: 1 },
      { reason: "tenant_tokens", kind: "tokens", key: tKey, limit: limits.tenant_tokens, points: tokens },
      { reason: "agent_requests", kind: "requests", key: aKey, limit: limits.agent_requests, points: 1 },
      { reason: "agent_tokens", kind: "tokens", key: aKey, limit: limits.agent_tokens, points: tokens },
    ].filter((c) => c.limit > 0) as Check[];
    if (checks.length === 0) return;

    const outcomes = await this.#consumeAll(checks);
    const rejected = outcomes.filter((o) => !o.allowed);
    if (rejected.length === 0) return tightest(outcomes);
    // Give back everything this request counted (the store counts a rejected consume too): a rejected request
    // must use up no budget, or a burst past a limit would keep the caller locked out.
    await Promise.all(outcomes.map((o) => o.via.reward(o.check.key, o.check.points))).catch(() => {});
    const worst = rejected.reduce((a, b) => b.res.msBeforeNext > a.res.msBeforeNext ? b : a);
    this.#onReject?.(worst.check.reason);
    const resetSeconds = Math.max(1, Math.ceil(worst.res.msBeforeNext / 1000));
    const tooBig = worst.check.points > worst.check.limit;
    throw new RateLimitError(
      tooBig
        ? `the request's estimated ${worst.check.points} tokens exceed the ${
          worst.check.reason.replace("_", " ")
        } limit of ${worst.check.limit} per minute; lower max_tokens or ask for a higher limit`
        : `${worst.check.reason.replace("_", " ")} limit of ${worst.check.limit} per minute reached; ` +
          `retry after ${resetSeconds} s`,
      {
        code: worst.check.reason,
        retryAfterSeconds: resetSeconds,
        headers: {
          "ratelimit-limit": String(worst.check.limit),
          "ratelimit-remaining": "0",
          "ratelimit-reset": String(resetSeconds),
          "ratelimit-policy": `${worst.check.limit};w=${WINDOW_SECONDS}`,
        },
      },
    );
  }

  /**
   * Replaces the call's up-front token estimate by the tokens its answer actually used (prompt + completion, as
   * reported): the difference is given back to, or taken from, the tenant's and the agent's token budgets.
   */
  settle(call: ChatCall, completion: ChatCompletion): void {
    const usage = completion.usage;
    if (!this.#config.enabled || !usage) return;
    const delta = estimateTokens(call, this.#config.defaultCompletionTokens) -
      (usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens);
    if (!Number.isFinite(delta) || delta === 0) return;
    const limits = this.limitsFor(call.tenant, call.agentId);
    const shared = this.#redis?.isReady === true;
    const adjust = (key: string, limit: number) => {
      if (limit <= 0) return;
      const check: Check = { reason: "tenant_tokens", kind: "tokens", key, limit, points: Math.abs(delta) };
      const via: Limiter = shared ? this.#sharedLimiter(check) : this.#localLimiter(check);
      const done = delta > 0 ? via.reward(key, delta) : via.penalty(key, -delta);
      done.catch(() => {});
    };
    adjust(tenantKey(call.tenant), limits.tenant_tokens);
    adjust(agentKey(call.tenant, call.agentId), limits.agent_tokens);
  }

  /** Counts the call in every limit at once (one pipelined round trip to Redis), falling back per call. */
  async #consumeAll(checks: Check[]): Promise<Outcome[]> {
    if (this.#redis?.isReady) {
      const shared = checks.map((c) => this.#consume(this.#sharedLimiter(c), c));
      const outcomes = await withDeadline(Promise.all(shared), this.#config.redisTimeoutMs).catch(() => undefined);
      if (outcomes) return outcomes;
      this.#onDegraded?.();
    } else if (this.#redis) {
      this.#onDegraded?.();
    }
    return Promise.all(checks.map((c) => this.#consume(this.#localLimiter(c), c)));
  }

  async #consume(via: Limiter, check: Check): Promise<Outcome> {
    try {
      const res = await via.consume(check.key, check.points);
      return { check, res, allowed: true, via };
    } catch (err) {
      if (err instanceof RateLimiterRes) return { check, res: err, allowed: false, via };
      throw err;
    }
  }

  #localLimiter(check: Check): RateLimiterMemory {
    const id = `${check.kind}:${check.limit}`;
    let limiter = this.#local.get(id);
    if (!limiter) {
      limiter = new RateLimiterMemory({
        keyPrefix: `amas:rl:${check.kind}`,
        points: check.limit,
        duration: WINDOW_SECONDS,
      });
      this.#local.set(id, limiter);
    }
    return limiter;
  }

  #sharedLimiter(check: Check): RateLimiterRedis {
    const id = `${check.kind}:${check.limit}`;
    let limiter = this.#shared.get(id);
    if (!limiter) {
      limiter = new RateLimiterRedis({
        storeClient: this.#redis,
        useRedisPackage: true,
        rejectIfRedisNotReady: true,
        // Keys carry the kind but not the limit: a changed limit applies to the count already made.
        keyPrefix: `amas:rl:${check.kind}`,
        points: check.limit,
        duration: WINDOW_SECONDS,
      });
      this.#shared.set(id, limiter);
    }
    return limiter;
  }
}

function tenantKey(tenant: string): string {
  return `t:${tenant.length}:${tenant}`;
}

function agentKey(tenant: string, agent: string): string {
  return `a:${tenant.length}:${tenant}:${agent}`;
}

/** The limit closest to exhaustion (smallest share left), as the IETF draft reports one policy of several. */
function tightest(outcomes: Outcome[]): RateLimitStatus {
  let best = outcomes[0];
  let bestShare = Infinity;
  for (const o of outcomes) {
    const share = Math.max(0, o.res.remainingPoints) / o.check.limit;
    if (share < bestShare) {
      best = o;
      bestShare = share;
    }
  }
  return {
    limit: best.check.limit,
    remaining: Math.max(0, best.res.remainingPoints),
    resetSeconds: Math.max(1, Math.ceil(best.res.msBeforeNext / 1000)),
    policy: `${best.check.limit};w=${WINDOW_SECONDS}`,
  };
}

/** Rejects if `promise` has not settled within `ms`. */
function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis did not answer within ${ms} ms`)), ms);
  });
  promise.catch(() => {});
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
