/**
 * Aggregation: time windows of the in-memory ledger, and cluster-wide totals and budgets in a real redis-server
 * (two accountants stand for two replicas), including a Redis outage during which counting goes on locally and
 * after which the increments made meanwhile still reach Redis.
 */
import assert from "node:assert/strict";
import { TestRedis } from "../support/redis.ts";
import { CostAccountant } from "../../src/cost/accountant.ts";
import { costConfigSchema } from "../../src/cost/config.ts";
import { NodeRedisCommands } from "../../src/cost/redis_commands.ts";
import { Telemetry } from "../../src/telemetry/telemetry.ts";
import { Logger } from "../../src/log.ts";
import { BudgetExceededError } from "../../src/errors.ts";
import type { ChatCall } from "../../src/gateway/stages.ts";
import type { ChatCompletion } from "../../src/gateway/chat_schema.ts";
import type { CostSummary } from "../../src/cost/accountant.ts";
import { chatBody, postJson, startGateway } from "../support/gateway.ts";

const USAGE = { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 };
const COST = (100 * 2.5 + 50 * 10) / 1e6; // sim-large, priced like gpt-4o

function call(tenant: string, agent: string): ChatCall {
  return {
    request: { model: "sim-large", messages: [{ role: "user", content: "hi" }] },
    tenant,
    agentId: agent,
    cacheMode: "default",
    requestId: crypto.randomUUID(),
    signal: new AbortController().signal,
  } as unknown as ChatCall;
}

const completion: ChatCompletion = {
  id: "c",
  object: "chat.completion",
  created: 0,
  model: "sim-large",
  choices: [{ index: 0, message: { role: "assistant", content: "hello" }, finish_reason: "stop" }],
  usage: USAGE,
};

function accountant(
  overrides: Record<string, unknown>,
  extra: { redisUrl?: string; now?: () => number; telemetry?: Telemetry } = {},
) {
  const config = costConfigSchema.parse({ flushMs: 60_000, ...overrides });
  return new CostAccountant({
    config,
    telemetry: extra.telemetry ?? new Telemetry({ serviceName: "cost-test" }),
    logger: new Logger("error"),
    redis: extra.redisUrl ? new NodeRedisCommands(extra.redisUrl, { timeoutMs: 500 }) : undefined,
    now: extra.now,
  });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting until ${what}`);
}

Deno.test("windows select the buckets they cover; groups and savings add up", async () => {
  let now = Date.UTC(2026, 0, 10, 12, 0, 0);
  const a = accountant({}, { now: () => now });
  try {
    a.record(call("t1", "old"), completion, "upstream");
    now += 2 * 3_600_000;
    a.record(call("t1", "new"), completion, "upstream");
    a.record(call("t1", "new"), completion, "cache");
    a.record(call("t2", "new"), completion, "dedup");
    const hour = await a.summary("agent", { label: "1h", ms: 3_600_000 }, { admin: true });
    assert.deepEqual(hour.groups.map((g) => `${g.tenant}/${g.key}:${g.requests}`).sort(), ["t1/new:2", "t2/new:1"]);
    assert.equal(hour.totals.requests, 3);
    assert.ok(Math.abs(hour.totals.cost_usd - COST) < 1e-15);
    assert.ok(Math.abs(hour.totals.saved_cache_usd - COST) < 1e-15);
    assert.ok(Math.abs(hour.totals.saved_dedup_usd - COST) < 1e-15);
    assert.equal(hour.totals.upstream_requests, 1);
    assert.equal(hour.totals.input_tokens, 100, "only tokens an upstream billed");
    const day = await a.summary("tenant", { label: "24h", ms: 86_400_000 }, { admin: true });
    assert.deepEqual(day.groups.map((g) => `${g.key}:${g.requests}`), ["t1:3", "t2:1"]);
    const own = await a.summary("model", { label: "24h", ms: 86_400_000 }, { admin: false, tenant: "t2" });
    assert.equal(own.totals.requests, 1, "a tenant sees its own rows only");
  } finally {
    await a.close();
  }
});

Deno.test("redis: replicas share totals and budgets; an outage keeps counting and loses nothing", async () => {
  await using redis = await TestRedis.start();
  const budgets = { tenants: { t1: { daily: { hard: 0.003 } } } };
  const telemetry = new Telemetry({ serviceName: "cost-test" });
  const metric = async (name: string) => {
    const line = (await telemetry.prometheusText()).split("\n").find((l) => l.startsWith(name + " "));
    return Number(line?.split(" ")[1] ?? NaN);
  };
  const a = accountant({ budgets }, { redisUrl: redis.url, telemetry });
  const b = accountant({ budgets }, { redisUrl: redis.url });
  try {
    for (let i = 0; i < 3; i++) a.record(call("t1", "x"), completion, "upstream");
    for (let i = 0; i < 2; i++) b.record(call("t1", "y"), completion, "upstream");
    // Each replica alone is under the 0.003 USD budget (0.00225 and 0.0015 USD).
    await a.checkBudget(call("t1", "x"));
    await b.checkBudget(call("t1", "y"));

    const day = { label: "24h", ms: 86_400_000 };
    await until("both replicas flushed to redis", async () => {
      await a.flush();
      await b.flush();
      const s = await a.summary("agent", day, { admin: true });
      return s.source === "redis" && s.totals.requests === 5;
    });
    const cluster = await b.summary("agent", day, { admin: true });
    assert.equal(cluster.source, "redis");
    assert.deepEqual(cluster.groups.map((g) => `${g.key}:${g.requests}`), ["x:3", "y:2"]);
    assert.ok(Math.abs(cluster.totals.cost_usd - 5 * COST) < 1e-12);
    // Together they spent 0.00375 USD: once the spend is read back, both replicas reject.
    await a.flush();
    await b.flush();
    await assert.rejects(a.checkBudget(call("t1", "x")), BudgetExceededError);
    await assert.rejects(b.checkBudget(call("t1", "z")), BudgetExceededError);

    await redis.stop();
    for (let i = 0; i < 2; i++) a.record(call("t2", "during-outage"), completion, "upstream");
    await a.flush(); // must not throw
    const degraded = await a.summary("agent", day, { admin: true });
    assert.equal(degraded.source, "memory");
    assert.match(degraded.degraded ?? "", /redis unavailable/);
    assert.equal(degraded.totals.requests, 5, "this replica's own 3 + 2 (B's 2 are in B's memory)");
    assert.ok(await metric("amas_cost_redis_pending_fields") > 0, "the outage's increments wait");
    assert.ok(await metric("amas_cost_redis_flush_failures_total") >= 1);

    await redis.restart(); // an empty server: only what was pending arrives
    await until("the outage's increments reach redis", async () => {
      await a.flush();
      const s = await a.summary("agent", day, { admin: true });
      return s.source === "redis" && s.totals.requests === 2;
    });
    assert.equal(await metric("amas_cost_redis_pending_fields"), 0);
    assert.equal(await metric("amas_cost_redis_dropped_increments_total"), 0);
    const after = await b.summary("agent", day, { admin: true });
    assert.deepEqual(after.groups.map((g) => `${g.tenant}/${g.key}:${g.requests}`), ["t2/during-outage:2"]);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("redis: a gateway with REDIS_URL reports cluster-wide totals from Redis", async () => {
  await using redis = await TestRedis.start();
  await using gw = await startGateway({
    env: { REDIS_URL: redis.url },
    overrides: { cache: { enabled: false }, cost: { flushMs: 50 } },
  });
  for (let i = 0; i < 3; i++) {
    const res = await postJson(`${gw.url}/v1/chat/completions`, chatBody(`cluster ${i}`, { model: "sim-large" }));
    assert.equal(res.status, 200);
    await res.body?.cancel();
  }
  let summary: CostSummary | undefined;
  await until("the totals are read from redis", async () => {
    summary = await (await fetch(`${gw.url}/v1/costs?window=1h`)).json();
    return summary!.source === "redis" && summary!.totals.requests === 3;
  });
  // The hashes are where docs/COST.md says: one minute hash and one hour hash, fields per row and counter.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: redis.port });
  await conn.write(new TextEncoder().encode("KEYS amas:cost:*\r\n"));
  const buf = new Uint8Array(4096);
  const n = await conn.read(buf);
  conn.close();
  const keys = new TextDecoder().decode(buf.subarray(0, n ?? 0));
  assert.match(keys, /amas:cost:m:\d+/);
  assert.match(keys, /amas:cost:h:\d+/);
});
