/**
 * Budgets per tenant and per agent, per UTC day and UTC calendar month. Crossing a soft limit raises
 * `amas_budget_alerts_total` and logs a warning (once per scope, window and period); reaching a hard limit rejects
 * the scope's next requests with a 429 `budget_exceeded` that names the budget and when it resets. With Redis the
 * spend is cluster-wide (the last flushed total plus this replica's unflushed share).
 *
 * @module
 */
import { BudgetExceededError } from "../errors.ts";
import type { Budget, CostConfig } from "./config.ts";
import type { RedisLedger } from "./ledger.ts";

/** A budget window. */
export type BudgetWindow = "daily" | "monthly";

/** One limit that applies to a request. */
export interface AppliedBudget {
  /** `tenant:acme` or `agent:acme/research`. */
  scope: string;
  /** The config path of the budget, for messages. */
  setting: string;
  window: BudgetWindow;
  soft?: number;
  hard?: number;
}

/** The state of one budget, for the utilization gauge and `GET /v1/costs`. */
export interface BudgetStatus extends AppliedBudget {
  spentUsd: number;
  /** Spend over the hard limit, else over the soft limit. */
  utilization: number;
  resetsAt: string;
}

/** What the budgets report to metrics and logs. */
export interface BudgetEvents {
  alert(budget: AppliedBudget, level: "soft" | "hard", spentUsd: number): void;
}

/** The UTC period of a window at `atMs`, as an id (`d:2026-11-27`, `mo:2026-11`) and the moment it ends. */
export function periodOf(window: BudgetWindow, atMs: number): { id: string; endsAt: number } {
  const d = new Date(atMs);
  if (window === "daily") {
    const endsAt = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
    return { id: `d:${d.toISOString().slice(0, 10)}`, endsAt };
  }
  const endsAt = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return { id: `mo:${d.toISOString().slice(0, 7)}`, endsAt };
}

const MAX_TRACKED = 10_000;

/** Budget enforcement and spend tracking. */
export class Budgets {
  #config: CostConfig["budgets"];
  #events: BudgetEvents;
  #redis?: RedisLedger;
  #local = new Map<string, number>();
  #cluster = new Map<string, number>();
  #alerted = new Set<string>();
  #adds = 0;
  /** Budgets seen in use: their spend is read back at every flush and reported by the gauge. */
  #active = new Map<string, AppliedBudget>();

  constructor(config: CostConfig["budgets"], events: BudgetEvents, redis?: RedisLedger) {
    this.#config = config;
    this.#events = events;
    this.#redis = redis;
  }

  /** The budgets that apply to a tenant's agent. */
  applicable(tenant: string, agent: string): AppliedBudget[] {
    const out: AppliedBudget[] = [];
    const add = (scope: string, setting: string, budget: Budget | undefined) => {
      if (!budget) return;
      for (const window of ["daily", "monthly"] as const) {
        const limit = budget[window];
        if (limit && (limit.soft !== undefined || limit.hard !== undefined)) {
          out.push({ scope, setting: `${setting}.${window}`, window, soft: limit.soft, hard: limit.hard });
        }
      }
    };
    const t = this.#config.tenants;
    // Own-property checks: a tenant or agent may well be called "constructor" or "toString".
    const tenantKey = Object.hasOwn(t, tenant) ? tenant : "*";
    add(
      `tenant:${tenant}`,
      `cost.budgets.tenants.${tenantKey}`,
      Object.hasOwn(t, tenantKey) ? t[tenantKey] : undefined,
    );
    const a = this.#config.agents;
    const agentKey = Object.hasOwn(a, agent) ? agent : "*";
    add(
      `agent:${tenant}/${agent}`,
      `cost.budgets.agents.${agentKey}`,
      Object.hasOwn(a, agentKey) ? a[agentKey] : undefined,
    );
    return out;
  }

  /** Throws a {@linkcode BudgetExceededError} when a hard limit of the tenant or agent is reached. */
  check(tenant: string, agent: string, nowMs: number): void {
    for (const budget of this.applicable(tenant, agent)) {
      if (budget.hard === undefined) continue;
      const period = periodOf(budget.window, nowMs);
      this.#track(budget);
      const spent = this.spent(budget.scope, period.id);
      if (spent >= budget.hard) {
        const resetsAt = new Date(period.endsAt).toISOString();
        throw new BudgetExceededError(
          `the ${budget.window} budget of ${budget.scope.replace(":", " '")}' is exhausted ` +
            `(spent $${spent.toFixed(4)} of the $${budget.hard} hard limit); it resets at ${resetsAt}; ` +
            `raise ${budget.setting}.hard or wait`,
          { retryAfterSeconds: Math.max(1, Math.ceil((period.endsAt - nowMs) / 1000)), scope: budget.scope },
        );
      }
    }
  }

  /** Adds spend to every budget of the tenant's agent, and raises alerts for limits it crosses. */
  add(tenant: string, agent: string, usd: number, nowMs: number): void {
    if (usd <= 0) return;
    if (++this.#adds % 1000 === 0) this.#prune(nowMs);
    for (const budget of this.applicable(tenant, agent)) {
      const period = periodOf(budget.window, nowMs);
      this.#track(budget);
      const key = `${period.id}/${budget.scope}`;
      this.#local.set(key, (this.#local.get(key) ?? 0) + usd);
      this.#redis?.addBudget(period.id, budget.scope, usd);
      const spent = this.spent(budget.scope, period.id);
      for (const level of ["soft", "hard"] as const) {
        const limit = budget[level];
        const alertKey = `${key}/${budget.window}/${level}`;
        if (limit !== undefined && spent >= limit && !this.#alerted.has(alertKey)) {
          this.#alerted.add(alertKey);
          this.#events.alert(budget, level, spent);
        }
      }
    }
  }

  /** The spend of a scope in a period: cluster-wide when Redis answered, else this replica's own. */
  spent(scope: string, period: string): number {
    const key = `${period}/${scope}`;
    const cluster = this.#cluster.get(key);
    if (cluster !== undefined && this.#redis) return cluster + this.#redis.pendingBudget(period, scope);
    return this.#local.get(key) ?? 0;
  }

  /** The (period, scope) pairs to read back from Redis at the next flush. */
  reads(nowMs: number): { period: string; scope: string }[] {
    return [...this.#active.values()].map((b) => ({ period: periodOf(b.window, nowMs).id, scope: b.scope }));
  }

  /** Takes the cluster-wide spend read back by a flush. */
  updateCluster(spend: Map<string, number>): void {
    for (const [key, value] of spend) this.#cluster.set(key, value);
  }

  /** The state of every budget in use. */
  statuses(nowMs: number, tenant?: string): BudgetStatus[] {
    const out: BudgetStatus[] = [];
    for (const budget of this.#active.values()) {
      if (
        tenant !== undefined && !budget.scope.startsWith(`tenant:${tenant}`) &&
        !budget.scope.startsWith(`agent:${tenant}/`)
      ) continue;
      const period = periodOf(budget.window, nowMs);
      const spentUsd = this.spent(budget.scope, period.id);
      const limit = budget.hard ?? budget.soft ?? Infinity;
      out.push({ ...budget, spentUsd, utilization: spentUsd / limit, resetsAt: new Date(period.endsAt).toISOString() });
    }
    return out;
  }

  #track(budget: AppliedBudget): void {
    const key = `${budget.scope}/${budget.window}`;
    if (!this.#active.has(key) && this.#active.size < MAX_TRACKED) this.#active.set(key, budget);
  }

  /** Drops the spend and alert marks of past periods, so the maps stay bounded. */
  #prune(nowMs: number): void {
    const current = [periodOf("daily", nowMs).id, periodOf("monthly", nowMs).id].map((id) => id + "/");
    for (const map of [this.#local, this.#cluster]) {
      for (const k of map.keys()) if (!current.some((p) => k.startsWith(p))) map.delete(k);
    }
    for (const k of this.#alerted) if (!current.some((p) => k.startsWith(p))) this.#alerted.delete(k);
  }
}
