/**
 * End to end, with a real redis-server and real gateway processes (`src/main.ts`): replicas share the cache
 * through Redis, a late replica warms from it, and Redis going away never turns into errors.
 */
import assert from "node:assert/strict";
import { storeConfigSchema } from "../../src/store/config.ts";
import { openRedisStore } from "../../src/store/redis_store.ts";
import { chatBody, type ChildGateway, postJson, spawnGateway } from "../support/gateway.ts";
import { TestRedis } from "../support/redis.ts";
import { scanAll } from "./contract.ts";
import { waitFor } from "./fixtures.ts";

interface Answer {
  status: number;
  cache: string | null;
  similarity: string | null;
  id?: string;
  content?: string;
}

async function ask(gw: ChildGateway, prompt: string): Promise<Answer> {
  const res = await postJson(`${gw.url}/v1/chat/completions`, chatBody(prompt));
  const text = await res.text();
  let body: { id?: string; choices?: { message?: { content?: string } }[] } = {};
  try {
    body = JSON.parse(text);
  } catch { /* a non-JSON error body: the status says enough */ }
  return {
    status: res.status,
    cache: res.headers.get("x-amas-cache"),
    similarity: res.headers.get("x-amas-cache-similarity"),
    id: body.id,
    content: body.choices?.[0]?.message?.content,
  };
}

async function ready(gw: ChildGateway): Promise<boolean> {
  const res = await fetch(`${gw.url}/readyz`);
  await res.body?.cancel();
  return res.status === 200;
}

async function cacheStats(gw: ChildGateway): Promise<{ entries: number; index?: { size: number } }> {
  const res = await fetch(`${gw.url}/v1/cache/stats`);
  return res.ok ? await res.json() : { entries: -1 };
}

Deno.test({
  name: "redis e2e: two gateways share one Redis; a late third serves after readiness; Redis down = degraded, not down",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const redis = await TestRedis.start();
    const env = {
      REDIS_URL: redis.url,
      // Quick to notice Redis is gone and to see it back, so the test does not wait on defaults meant for prod.
      AMAS_STORE_COMMAND_TIMEOUT_MS: "1000",
      AMAS_STORE_RECONNECT_MAX_DELAY_MS: "500",
      // This test is about replication, not about embedding latency on a machine shared by many test processes:
      // a semantic lookup may wait for its embedding, and one embedding worker per gateway is enough.
      AMAS_CACHE_SEMANTIC_TIMEOUT_MS: "10000",
      AMAS_EMBED_WORKERS: "1",
      ...(Deno.env.get("AMAS_E2E_DEBUG") ? { AMAS_LOG_LEVEL: "debug" } : {}),
    };
    const gateways: ChildGateway[] = [];
    try {
      const [a, b] = await Promise.all([spawnGateway(env, 120_000), spawnGateway(env, 120_000)]);
      gateways.push(a, b);
      assert.ok(await waitFor(async () => await ready(a) && await ready(b), 60_000, 100), "A and B become ready");

      // The first answers after start-up wait for the embedder to warm up; the 1 s is about replication.
      for (const gw of [a, b]) {
        assert.equal((await ask(gw, "Warm-up: list the planets of the solar system.")).status, 200);
      }
      const indexed = async (gw: ChildGateway) => (await cacheStats(gw)).index?.size ?? 0;
      assert.ok(await waitFor(async () => await indexed(b) >= 1 && await indexed(a) >= 1, 30_000, 50));
      const before = await indexed(b);

      // 1. Cached through A: an exact and a semantic hit on B within 1 s.
      const cached = "How do I reset my password?";
      const first = await ask(a, cached);
      if (Deno.env.get("AMAS_E2E_DEBUG")) console.error(new Date().toISOString(), "A answered");
      assert.equal(first.status, 200);
      assert.equal(first.cache, "miss");
      const answeredAt = performance.now();
      assert.ok(
        await waitFor(async () => await indexed(b) > before, 10_000, 10),
        "B indexes A's entry",
      );
      const replicationMs = performance.now() - answeredAt;
      if (Deno.env.get("AMAS_E2E_DEBUG")) {
        for (const gw of [a, b]) {
          console.error(gw.stderr().split("\n").filter((l) => /store|cache|embed/.test(l)).join("\n"));
        }
      }
      assert.ok(replicationMs <= 1_000, `A's answer reached B's index in ${replicationMs.toFixed(0)} ms (> 1 s)`);
      const exactOnB = await ask(b, cached);
      assert.equal(exactOnB.cache, "exact");
      assert.equal(exactOnB.id, first.id, "B served A's answer, not one of its own");
      const semanticOnB = await ask(b, "How can I reset my password?");
      assert.equal(
        semanticOnB.cache,
        "semantic",
        `paraphrase on B: ${JSON.stringify(semanticOnB)}; B's cache: ${JSON.stringify(await cacheStats(b))}`,
      );
      assert.ok(Number(semanticOnB.similarity) > 0);
      assert.equal(semanticOnB.content, first.content);

      // 2. A third replica started later serves it once ready (warmed from Redis, not from the stream).
      const c = await spawnGateway(env, 120_000);
      gateways.push(c);
      assert.ok(await waitFor(() => ready(c), 60_000, 100), "C becomes ready");
      const exactOnC = await ask(c, cached);
      assert.equal(exactOnC.cache, "exact");
      assert.equal(exactOnC.id, first.id);

      // 3. Redis stops: both keep answering (no 5xx), hits keep coming from memory, writes are buffered.
      await redis.stop();
      const during = ["What is the boiling point of water?", "Name three primary colours.", "Who wrote Hamlet?"];
      const duringAnswers: Answer[] = [];
      for (const prompt of during) {
        for (const gw of [a, b]) {
          const r = await ask(gw, prompt);
          assert.ok(r.status < 500, `${prompt} → ${r.status} while Redis is down`);
          duringAnswers.push(r);
        }
      }
      for (const gw of [a, b]) {
        const hit = await ask(gw, cached);
        assert.equal(hit.status, 200);
        assert.equal(hit.cache, "exact", "hits are served from memory while Redis is down");
        assert.ok(await ready(gw), "degraded counts as ready");
      }
      assert.ok(duringAnswers.every((r) => r.status === 200));

      // 4. Redis returns (empty, as after a crash): what was written meanwhile reaches it.
      await redis.restart();
      const reader = await openRedisStore({ url: redis.url, config: storeConfigSchema.parse({}) });
      try {
        const arrived = await waitFor(
          async () => {
            const texts = new Set((await scanAll(reader)).map((e) => e.semanticText));
            return during.every((p) => texts.has(p));
          },
          30_000,
          200,
        );
        assert.ok(arrived, "entries written while Redis was down reach it after it returns");
      } finally {
        await reader.close();
      }
      for (const gw of [a, b]) {
        const r = await ask(gw, "And one more after the return?");
        assert.equal(r.status, 200);
      }
    } finally {
      await Promise.all(gateways.map((g) => g.stop().catch(() => {})));
      await redis.stop();
    }
  },
});
