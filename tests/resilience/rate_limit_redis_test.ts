/**
 * Cluster-wide rate limits (needs redis-server): two gateway processes sharing one real redis-server enforce one
 * limit exactly (N allowed per window, not 2N); with Redis stopped each falls back to its local limit and never
 * answers 5xx or hangs; when Redis returns the limit is shared again.
 */
import assert from "node:assert/strict";
import { chatBody, postJson, spawnGateway } from "../support/gateway.ts";
import { TestRedis } from "../support/redis.ts";
import { sleep } from "./helpers.ts";

const N = 10;

async function backend(url: string): Promise<string> {
  const r = await fetch(`${url}/v1/resilience`);
  return (await r.json()).rate_limits.backend;
}

async function waitBackend(urls: string[], want: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const got = await Promise.all(urls.map(backend));
    if (got.every((b) => b === want)) return;
    await sleep(100);
  }
  throw new Error(`rate-limit backend did not become ${want}`);
}

/** 3N requests, spread over both gateways and sent concurrently; returns the statuses and the slowest answer. */
async function burst(urls: string[], tag: string): Promise<{ statuses: number[]; slowestMs: number }> {
  let slowestMs = 0;
  const statuses = await Promise.all(Array.from({ length: 3 * N }, async (_, i) => {
    const t0 = performance.now();
    const r = await postJson(`${urls[i % urls.length]}/v1/chat/completions`, chatBody(`${tag} ${i}`), {
      "x-amas-cache": "bypass",
    });
    await r.body?.cancel();
    slowestMs = Math.max(slowestMs, performance.now() - t0);
    return r.status;
  }));
  return { statuses, slowestMs };
}

const count = (xs: number[], x: number) => xs.filter((v) => v === x).length;

Deno.test("redis: two gateways share one limit exactly; without Redis they fall back locally, never 5xx", async () => {
  await using redis = await TestRedis.start();
  const dir = await Deno.makeTempDir({ prefix: "amas-rl-" });
  const configPath = `${dir}/config.json`;
  await Deno.writeTextFile(
    configPath,
    // A generous Redis timeout: on a loaded test machine a slow answer would otherwise be decided locally, which
    // is right in production (availability first) but not what this test measures.
    JSON.stringify({ resilience: { rateLimits: { tenant: { requestsPerMinute: N }, redisTimeoutMs: 5_000 } } }),
  );
  const env = { REDIS_URL: redis.url, AMAS_CONFIG: configPath, AMAS_CACHE_ENABLED: "false" };
  const [a, b] = await Promise.all([spawnGateway(env), spawnGateway(env)]);
  await using _a = a;
  await using _b = b;
  const urls = [a.url, b.url];
  await waitBackend(urls, "redis");

  const shared = await burst(urls, "shared");
  assert.equal(count(shared.statuses, 200), N, `statuses ${shared.statuses}`);
  assert.equal(count(shared.statuses, 429), 2 * N);

  await redis.stop();
  const local = await burst(urls, "local");
  assert.ok(local.statuses.every((s) => s === 200 || s === 429), `statuses ${local.statuses}`);
  // Each process now counts on its own: N each, 2N in all (the price of staying up without Redis).
  assert.equal(count(local.statuses, 200), 2 * N, `statuses ${local.statuses}`);
  assert.ok(local.slowestMs < 3_000, `slowest answer took ${local.slowestMs.toFixed(0)} ms`);
  assert.deepEqual(await Promise.all(urls.map(backend)), ["memory (redis unavailable)", "memory (redis unavailable)"]);

  await redis.restart();
  await waitBackend(urls, "redis");
  const again = await burst(urls, "again");
  assert.equal(count(again.statuses, 200), N, `statuses ${again.statuses}`);
  await Deno.remove(dir, { recursive: true });
});
