/**
 * Aggregation of costs per tenant, agent and model in time buckets. Every replica keeps its own figures in memory
 * (the embedded mode, and the fallback whenever Redis fails); with Redis configured, increments are also merged
 * into a pending batch that a timer pushes with HINCRBYFLOAT into time-bucketed hashes with a TTL, so every
 * replica adds to the same cluster-wide totals. Redis errors never fail a request: the batch stays pending
 * (bounded) and goes out with the next flush.
 *
 * @module
 */

/** The counters kept per row. Money in USD; tokens are the ones billed by the upstream. */
export const FIELDS = [
  "requests",
  "upstream_requests",
  "cache_hits",
  "dedup_hits",
  "cost_usd",
  "saved_cache_usd",
  "saved_dedup_usd",
  "input_tokens",
  "output_tokens",
  "estimated",
  "unpriced",
] as const;

/** One counter. */
export type Field = typeof FIELDS[number];

/** Values of the counters. */
export type Totals = Record<Field, number>;

/** The dimensions of a row. */
export interface RowKey {
  tenant: string;
  agent: string;
  model: string;
}

/** A zeroed set of counters. */
export function zeroTotals(): Totals {
  return Object.fromEntries(FIELDS.map((f) => [f, 0])) as Totals;
}

/** Adds `b` into `a`. */
export function addTotals(a: Totals, b: Partial<Totals>): Totals {
  for (const f of FIELDS) a[f] += b[f] ?? 0;
  return a;
}

/** The row key as one string (components URI-encoded, so '|' in a model name cannot split it). */
export function encodeRow(row: RowKey): string {
  // toWellFormed: a lone surrogate (valid in JSON) would make encodeURIComponent throw.
  return [row.tenant, row.agent, row.model].map((part) => encodeURIComponent(part.toWellFormed())).join("|");
}

/** The inverse of {@linkcode encodeRow}; undefined for a malformed key. */
export function decodeRow(key: string): RowKey | undefined {
  const parts = key.split("|");
  if (parts.length !== 3) return undefined;
  try {
    const [tenant, agent, model] = parts.map(decodeURIComponent);
    return { tenant, agent, model };
  } catch {
    return undefined;
  }
}

/** Aggregated rows of a window. */
export interface LedgerRows {
  rows: Map<string, Totals>;
  /** Where the figures come from: this replica's memory, or the cluster-wide totals in Redis. */
  source: "memory" | "redis";
  /** The earliest moment the figures cover (the first record, or the window start if earlier records exist). */
  sinceMs: number;
  /** Set when Redis was configured but failed, and the figures are this replica's alone. */
  degraded?: string;
}

/** Per-replica aggregates in fixed-width time buckets. */
export class MemoryLedger {
  #bucketMs: number;
  #retentionMs: number;
  #buckets = new Map<number, Map<string, Totals>>();

  constructor(options: { bucketSeconds: number; retentionHours: number }) {
    this.#bucketMs = options.bucketSeconds * 1000;
    this.#retentionMs = options.retentionHours * 3_600_000;
  }

  /** Adds one record's counters at time `atMs`. */
  add(atMs: number, row: string, deltas: Partial<Totals>): void {
    const start = atMs - (atMs % this.#bucketMs);
    let bucket = this.#buckets.get(start);
    if (!bucket) {
      this.#buckets.set(start, bucket = new Map());
      this.#prune(atMs);
    }
    let totals = bucket.get(row);
    if (!totals) bucket.set(row, totals = zeroTotals());
    addTotals(totals, deltas);
  }

  /** Sums the buckets that overlap `[sinceMs, nowMs]`, by row. */
  query(sinceMs: number, nowMs: number): Map<string, Totals> {
    const out = new Map<string, Totals>();
    for (const [start, bucket] of this.#buckets) {
      if (start + this.#bucketMs <= sinceMs || start > nowMs) continue;
      for (const [row, totals] of bucket) {
        let acc = out.get(row);
        if (!acc) out.set(row, acc = zeroTotals());
        addTotals(acc, totals);
      }
    }
    return out;
  }

  /** Requests per bucket over `[sinceMs, nowMs]` (for the peak rate of the replica rule). */
  requestsPerBucket(sinceMs: number, nowMs: number): { bucketMs: number; counts: number[] } {
    const counts: number[] = [];
    for (const [start, bucket] of this.#buckets) {
      if (start + this.#bucketMs <= sinceMs || start > nowMs) continue;
      let n = 0;
      for (const totals of bucket.values()) n += totals.requests;
      counts.push(n);
    }
    return { bucketMs: this.#bucketMs, counts };
  }

  #prune(nowMs: number): void {
    for (const start of this.#buckets.keys()) {
      if (start + this.#bucketMs < nowMs - this.#retentionMs) this.#buckets.delete(start);
    }
  }
}

/** The few Redis operations the ledger needs, so node-redis stays behind one adapter. */
export interface RedisCommands {
  /** Runs the commands in one round trip; `atomic` wraps them in MULTI/EXEC. Returns one reply per command. */
  run(commands: string[][], atomic: boolean): Promise<unknown[]>;
}

/** Time-bucketed hashes in Redis: minute hashes for short windows, hour hashes for long ones. */
export class RedisLedger {
  #redis: RedisCommands;
  #prefix: string;
  #retentionSeconds: number;
  #pending = new Map<string, Map<string, number>>();
  #pendingFields = 0;
  #maxPending: number;
  #dropped = 0;

  /** Windows up to this long are read from minute hashes (kept this long plus a margin). */
  static readonly MINUTE_WINDOW_MS = 6 * 3_600_000;

  constructor(redis: RedisCommands, options: { prefix: string; retentionHours: number; maxPendingFields: number }) {
    this.#redis = redis;
    this.#prefix = options.prefix;
    this.#retentionSeconds = options.retentionHours * 3600;
    this.#maxPending = options.maxPendingFields;
  }

  /** Increments dropped because Redis stayed unreachable past the pending bound. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Fields waiting for the next flush. */
  get pendingFields(): number {
    return this.#pendingFields;
  }

  /** Queues one record's counters for the minute and hour hashes of `atMs`. */
  add(atMs: number, row: string, deltas: Partial<Totals>): void {
    for (const key of [this.#minuteKey(atMs), this.#hourKey(atMs)]) {
      for (const f of FIELDS) {
        const v = deltas[f];
        if (v) this.#increment(key, `${row}#${f}`, v);
      }
    }
  }

  /** Queues a raw increment of a hash field (budget spend uses it too). */
  #increment(key: string, field: string, value: number): void {
    let hash = this.#pending.get(key);
    if (!hash) this.#pending.set(key, hash = new Map());
    if (!hash.has(field)) {
      if (this.#pendingFields >= this.#maxPending) {
        this.#dropped++;
        return;
      }
      this.#pendingFields++;
    }
    hash.set(field, (hash.get(field) ?? 0) + value);
  }

  /** Queues an increment of a budget scope's spend in a period (`d:2026-11-27`, `mo:2026-11`). */
  addBudget(period: string, scope: string, usd: number): void {
    if (usd) this.#increment(this.#budgetKey(period), scope, usd);
  }

  /** A budget scope's spend queued here and not yet flushed. */
  pendingBudget(period: string, scope: string): number {
    return this.#pending.get(this.#budgetKey(period))?.get(scope) ?? 0;
  }

  /**
   * Pushes the pending increments atomically and reads back the cluster-wide spend of `budgetKeys`. On failure the
   * increments stay pending and the error is thrown for the caller to log.
   */
  async flush(budgets: { period: string; scope: string }[]): Promise<Map<string, number>> {
    const batch = this.#pending;
    this.#pending = new Map();
    this.#pendingFields = 0;
    const commands: string[][] = [];
    for (const [key, hash] of batch) {
      for (const [field, value] of hash) commands.push(["HINCRBYFLOAT", key, field, String(value)]);
      // Minute hashes only serve short windows; a budget period's hash outlives its month by a few days.
      const ttl = key.startsWith(this.#prefix + "m:")
        ? RedisLedger.MINUTE_WINDOW_MS / 1000 + 3600
        : key.startsWith(this.#prefix + "budget:")
        ? 35 * 86_400
        : this.#retentionSeconds;
      commands.push(["EXPIRE", key, String(Math.ceil(ttl))]);
    }
    if (batch.size) commands.push(["SET", this.#prefix + "first", String(Date.now()), "NX"]);
    const budgetAt = commands.length;
    for (const b of budgets) commands.push(["HGET", this.#budgetKey(b.period), b.scope]);
    try {
      const replies = commands.length ? await this.#redis.run(commands, true) : [];
      const spend = new Map<string, number>();
      budgets.forEach((b, i) => spend.set(`${b.period}/${b.scope}`, Number(replies[budgetAt + i] ?? 0) || 0));
      return spend;
    } catch (err) {
      this.#restore(batch);
      throw err;
    }
  }

  /** Puts a failed batch back in front of whatever arrived meanwhile. */
  #restore(batch: Map<string, Map<string, number>>): void {
    for (const [key, hash] of batch) for (const [field, value] of hash) this.#increment(key, field, value);
  }

  /** Sums the cluster-wide rows of the window `[sinceMs, nowMs]` (plus what this replica has not flushed yet). */
  async query(sinceMs: number, nowMs: number): Promise<{ rows: Map<string, Totals>; sinceMs: number }> {
    const minutes = nowMs - sinceMs <= RedisLedger.MINUTE_WINDOW_MS;
    const step = minutes ? 60_000 : 3_600_000;
    const first = sinceMs - (sinceMs % step);
    const keys: string[] = [];
    for (let t = first; t <= nowMs; t += step) keys.push(minutes ? this.#minuteKey(t) : this.#hourKey(t));
    const replies = await this.#redis.run(
      [...keys.map((k) => ["HGETALL", k]), ["GET", this.#prefix + "first"]],
      false,
    );
    const rows = new Map<string, Totals>();
    const addField = (rowField: string, value: number) => {
      const hash = rowField.lastIndexOf("#");
      if (hash < 0) return;
      const field = rowField.slice(hash + 1) as Field;
      if (!FIELDS.includes(field)) return;
      const row = rowField.slice(0, hash);
      let acc = rows.get(row);
      if (!acc) rows.set(row, acc = zeroTotals());
      acc[field] += value;
    };
    keys.forEach((key, i) => {
      for (const [field, value] of hashEntries(replies[i])) addField(field, Number(value) || 0);
      for (const [field, value] of this.#pending.get(key) ?? []) addField(field, value);
    });
    const firstAt = Number(replies[keys.length]) || nowMs;
    return { rows, sinceMs: Math.max(first, Math.min(firstAt, nowMs)) };
  }

  #budgetKey(period: string): string {
    return `${this.#prefix}budget:${period}`;
  }

  #minuteKey(atMs: number): string {
    return `${this.#prefix}m:${Math.floor(atMs / 60_000) * 60}`;
  }

  #hourKey(atMs: number): string {
    return `${this.#prefix}h:${Math.floor(atMs / 3_600_000) * 3600}`;
  }
}

/** HGETALL replies: a flat [field, value, …] array (RESP2) or an object/Map (other clients). */
function hashEntries(reply: unknown): [string, string][] {
  if (!reply) return [];
  if (Array.isArray(reply)) {
    const out: [string, string][] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) out.push([String(reply[i]), String(reply[i + 1])]);
    return out;
  }
  if (reply instanceof Map) return [...reply.entries()].map(([k, v]) => [String(k), String(v)]);
  if (typeof reply === "object") {
    return Object.entries(reply as Record<string, unknown>).map(([k, v]) => [k, String(v)]);
  }
  return [];
}
