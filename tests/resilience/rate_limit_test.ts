/**
 * Rate limits in one process: per tenant and per agent, requests and estimated tokens per minute, with 429,
 * `Retry-After` and `RateLimit-*` headers; other tenants and agents are unaffected; defaults never get in a
 * laptop user's way.
 */
import assert from "node:assert/strict";
import { chatBody, postJson, startGateway } from "../support/gateway.ts";
import { estimateTokens } from "../../src/resilience/rate_limiter.ts";
import { makeCall, metricValue } from "./helpers.ts";

const KEYS = "acme=sk-acme-0001,globex=sk-globex-02";

function send(url: string, key: string, agent: string, extra: Record<string, unknown> = {}): Promise<Response> {
  return postJson(`${url}/v1/chat/completions`, chatBody(`hi ${crypto.randomUUID()}`, extra), {
    authorization: `Bearer ${key}`,
    "x-amas-agent": agent,
    "x-amas-cache": "bypass",
  });
}

Deno.test("requests per minute per agent and per tenant; 429 carries Retry-After and RateLimit-* headers", async () => {
  await using gw = await startGateway({
    env: { AMAS_API_KEYS: KEYS, AMAS_LOG_LEVEL: "error", AMAS_CACHE_ENABLED: "false" },
    overrides: {
      resilience: {
        rateLimits: {
          tenants: { acme: { requestsPerMinute: 6 } },
          agents: { "acme/bot": { requestsPerMinute: 3 } },
        },
      },
    },
  });
  const statuses: number[] = [];
  const remaining: string[] = [];
  let rejected: Response | undefined;
  for (let i = 0; i < 5; i++) {
    const r = await send(gw.url, "sk-acme-0001", "bot");
    statuses.push(r.status);
    if (r.status === 200) {
      remaining.push(r.headers.get("ratelimit-remaining") ?? "");
      assert.equal(r.headers.get("ratelimit-limit"), "3", "the agent's 3/min is the tightest limit");
      assert.equal(r.headers.get("ratelimit-policy"), "3;w=60");
    }
    if (r.status === 429 && !rejected) rejected = r;
    else await r.body?.cancel();
  }
  assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
  assert.deepEqual(remaining, ["2", "1", "0"], "successful answers carry RateLimit-* too");
  const body = await rejected!.json();
  assert.equal(body.error.type, "rate_limit_error");
  assert.equal(body.error.code, "agent_requests");
  assert.equal(rejected!.headers.get("ratelimit-limit"), "3");
  assert.equal(rejected!.headers.get("ratelimit-remaining"), "0");
  const reset = Number(rejected!.headers.get("ratelimit-reset"));
  assert.ok(reset >= 1 && reset <= 60, `reset ${reset}`);
  assert.equal(rejected!.headers.get("retry-after"), String(reset));

  // Another agent of the same tenant has its own agent budget but shares the tenant's 6 (3 used).
  const other: number[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await send(gw.url, "sk-acme-0001", "helper");
    other.push(r.status);
    await r.body?.cancel();
  }
  assert.deepEqual(other, [200, 200, 200, 429], "rejected requests did not use up the tenant's budget");
  // Another tenant is not affected at all.
  const globex = await send(gw.url, "sk-globex-02", "bot");
  assert.equal(globex.status, 200);
  await globex.body?.cancel();

  const report = await (await fetch(`${gw.url}/v1/resilience`, {
    headers: { authorization: "Bearer sk-acme-0001", "x-amas-agent": "bot" },
  })).json();
  assert.equal(report.rate_limits.backend, "memory");
  assert.equal(report.rate_limits.yours.agent_requests, 3);
  assert.equal(report.rate_limits.yours.tenant_requests, 6);
  assert.deepEqual(Object.keys(report.rate_limits.tenants), ["acme"]);
  const theirs = await (await fetch(`${gw.url}/v1/resilience`, { headers: { authorization: "Bearer sk-globex-02" } }))
    .json();
  assert.deepEqual(theirs.rate_limits.tenants, {}, "globex does not see acme's limits");
  assert.deepEqual(theirs.rate_limits.agents, {});
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.equal(metricValue(metrics, "amas_rate_limit_rejections_total", { reason: "agent_requests" }), 2);
  assert.equal(metricValue(metrics, "amas_rate_limit_rejections_total", { reason: "tenant_requests" }), 1);
});

Deno.test("tokens per minute: estimated up front from the prompt and max_tokens", async () => {
  await using gw = await startGateway({
    env: { AMAS_LOG_LEVEL: "error", AMAS_CACHE_ENABLED: "false" },
    overrides: { resilience: { rateLimits: { agent: { requestsPerMinute: 1000, tokensPerMinute: 1000 } } } },
  });
  // Two at once: both are counted at their estimate (~620) while in flight, so only one fits in 1000.
  const pair = await Promise.all([0, 1].map(() => send(gw.url, "", "writer", { max_tokens: 600 })));
  assert.deepEqual(pair.map((r) => r.status).sort(), [200, 429]);
  const second = pair.find((r) => r.status === 429)!;
  assert.equal((await second.json()).error.code, "agent_tokens");
  await pair.find((r) => r.status === 200)!.body?.cancel();
  const huge = await send(gw.url, "", "other", { max_tokens: 5000 });
  assert.equal(huge.status, 429);
  assert.match((await huge.json()).error.message, /lower max_tokens/);
  // A small request of the same agent still fits what is left.
  const small = await send(gw.url, "", "writer", { max_tokens: 50 });
  assert.equal(small.status, 200);
  await small.body?.cancel();
});

Deno.test("tokens per minute: the estimate is corrected by the answer's reported usage", async () => {
  await using gw = await startGateway({
    env: { AMAS_LOG_LEVEL: "error", AMAS_CACHE_ENABLED: "false" },
    overrides: { resilience: { rateLimits: { agent: { requestsPerMinute: 1000, tokensPerMinute: 1000 } } } },
  });
  // Each asks for up to 600 tokens (estimated ~620) but the simulated answer uses ~40: after the first answer,
  // the agent's budget holds its ~40 actual tokens, not ~620, so the second request fits.
  for (let i = 0; i < 3; i++) {
    const r = await send(gw.url, "", "frugal", { max_tokens: 600 });
    assert.equal(r.status, 200, `request ${i}`);
    const used = (await r.json()).usage.total_tokens;
    assert.ok(used < 100, `used ${used}`);
  }
  // A stream is corrected when it ends, too.
  const s = await send(gw.url, "", "frugal", { max_tokens: 600, stream: true });
  assert.equal(s.status, 200);
  await s.text();
  const after = await send(gw.url, "", "frugal", { max_tokens: 600 });
  assert.equal(after.status, 200);
  const remaining = Number(after.headers.get("ratelimit-remaining"));
  await after.body?.cancel();
  assert.ok(remaining > 1000 - 600 - 5 * 100 && remaining < 1000 - 600, `remaining ${remaining}`);
});

Deno.test("token estimate: about four characters a token plus the completion allowance", () => {
  const call = makeCall("x".repeat(400));
  assert.equal(estimateTokens(call, 256), 100 + 4 + 256);
  call.request.max_tokens = 10;
  assert.equal(estimateTokens(call, 256), 100 + 4 + 10);
});

Deno.test("defaults are generous: 300 quick requests of one agent all pass", async () => {
  await using gw = await startGateway({ env: { AMAS_LOG_LEVEL: "error", AMAS_CACHE_ENABLED: "false" } });
  gw.gateway.registry.sim.patch({ latency_ms: 0, jitter_ms: 0, tokens_per_second: 100_000 });
  const statuses = new Set<number>();
  for (let batch = 0; batch < 6; batch++) {
    const rs = await Promise.all(Array.from({ length: 50 }, () => send(gw.url, "", "default")));
    for (const r of rs) {
      statuses.add(r.status);
      await r.body?.cancel();
    }
  }
  assert.deepEqual([...statuses], [200]);
});
