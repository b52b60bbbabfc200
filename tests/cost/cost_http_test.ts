/**
 * Cost accounting through HTTP on an in-process gateway: the cost header of JSON and streamed answers, the
 * tokenizer estimate for an upstream that reports no usage, savings of deduplicated requests, hard budgets that
 * reject with a 429 naming the budget and its reset, soft budgets that raise a metric and a log line, and tenant
 * isolation of `GET /v1/costs`.
 */
import assert from "node:assert/strict";
import { countTokens, encodeChat } from "gpt-tokenizer";
import { findProvider } from "@pydantic/genai-prices";
import { chatBody, postJson, startGateway } from "../support/gateway.ts";
import type { CostSummary } from "../../src/cost/accountant.ts";

const SIM_LARGE = { input: 2.5, output: 10 }; // USD per million tokens: priced like gpt-4o (config default)

function simCost(usage: { prompt_tokens: number; completion_tokens: number }): number {
  return (usage.prompt_tokens * SIM_LARGE.input + usage.completion_tokens * SIM_LARGE.output) / 1e6;
}

async function sseLines(res: Response): Promise<string[]> {
  return (await res.text()).split("\n").filter((l) => l.length > 0);
}

Deno.test("JSON answers carry their cost; streams say pending and deliver the cost at the end", async () => {
  await using gw = await startGateway({ overrides: { cache: { enabled: false } } });
  const res = await postJson(`${gw.url}/v1/chat/completions`, chatBody("price me", { model: "sim-large" }));
  const body = await res.json();
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-amas-cost-usd"), simCost(body.usage).toFixed(8));
  assert.equal(res.headers.get("x-amas-cost-estimated"), null, "the simulated provider reports usage");

  const stream = await postJson(
    `${gw.url}/v1/chat/completions`,
    chatBody("stream and price me", { model: "sim-large", stream: true, stream_options: { include_usage: true } }),
  );
  assert.equal(stream.headers.get("x-amas-cost-usd"), "pending", "a streamed miss is priced when it ends");
  const lines = await sseLines(stream);
  const usageChunk = lines.filter((l) => l.startsWith("data: {")).map((l) => JSON.parse(l.slice(6)))
    .find((c) => c.usage);
  assert.ok(usageChunk, "usage chunk present");
  const expected = simCost(usageChunk.usage);
  assert.ok(Math.abs(usageChunk.amas_cost_usd - expected) < 1e-12, "the usage chunk carries the cost");
  assert.ok(lines.includes(`: x-amas-cost-usd=${expected.toFixed(8)}`), "trailing SSE comment with the cost");
  assert.equal(lines.at(-1), "data: [DONE]");
});

/** An OpenAI-compatible upstream that never reports usage (some proxies and local servers behave so). */
function usagelessUpstream(answer: string): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.json();
    const base = { id: "chatcmpl-nousage", created: 1, model: body.model };
    if (!body.stream) {
      return Response.json({
        ...base,
        object: "chat.completion",
        choices: [{ index: 0, message: { role: "assistant", content: answer }, finish_reason: "stop" }],
      });
    }
    const chunks = [
      { ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta: { role: "assistant", content: "" } }] },
      ...answer.match(/.{1,8}/gs)!.map((piece) => ({
        ...base,
        object: "chat.completion.chunk",
        choices: [{ index: 0, delta: { content: piece }, finish_reason: null }],
      })),
      { ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
    ];
    const text = chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join("") + "data: [DONE]\n\n";
    return new Response(text, { headers: { "content-type": "text/event-stream" } });
  });
}

Deno.test("a stream without usage is priced from a tokenizer estimate and flagged estimated", async () => {
  const answer = "The capital of France is Paris, a city on the Seine.";
  await using upstream = usagelessUpstream(answer);
  await using gw = await startGateway({
    overrides: {
      cache: { enabled: false },
      providers: {
        upstreams: { fake: { baseUrl: `http://127.0.0.1:${upstream.addr.port}/v1`, apiKey: "sk-fake-0123456789" } },
        models: { "gpt-4o": { provider: "fake" }, "house-llm-7b": { provider: "fake" } },
      },
    },
  });
  const messages = [{ role: "user", content: "What is the capital of France?" }];
  const res = await postJson(`${gw.url}/v1/chat/completions`, { model: "gpt-4o", messages, stream: true }, {
    "x-amas-agent": "geo",
  });
  assert.equal(res.status, 200);
  const lines = await sseLines(res);
  const rates = findProvider({ providerId: "openai" })!.models.find((m) => m.id === "gpt-4o")!.prices as Record<
    string,
    number
  >;
  const expected = (encodeChat(messages as never, "gpt-4o").length * rates.input_mtok +
    countTokens(answer) * rates.output_mtok) / 1e6;
  assert.ok(lines.includes(`: x-amas-cost-usd=${expected.toFixed(8)}`), `estimated cost ${expected} in ${lines}`);

  // The same request as JSON: the header carries the estimate and says it is one.
  const json = await postJson(`${gw.url}/v1/chat/completions`, { model: "gpt-4o", messages }, {
    "x-amas-agent": "geo",
  });
  await json.body?.cancel();
  assert.equal(json.headers.get("x-amas-cost-usd"), expected.toFixed(8));
  assert.equal(json.headers.get("x-amas-cost-estimated"), "true");

  const summary: CostSummary = await (await fetch(`${gw.url}/v1/costs?by=model&window=1h`)).json();
  const gpt4o = summary.groups.find((g) => g.key === "gpt-4o")!;
  assert.equal(gpt4o.estimated_requests, 2);
  assert.equal(gpt4o.input_tokens, 2 * encodeChat(messages as never, "gpt-4o").length);
  assert.equal(gpt4o.output_tokens, 2 * countTokens(answer));
  assert.ok(Math.abs(gpt4o.cost_usd - 2 * expected) < 1e-12);
  // A model no price source knows: cost 0, said to be unpriced, counted; never an error.
  const unknown = await postJson(`${gw.url}/v1/chat/completions`, { model: "house-llm-7b", messages });
  await unknown.body?.cancel();
  assert.equal(unknown.status, 200);
  assert.equal(unknown.headers.get("x-amas-cost-usd"), "0.00000000");
  assert.equal(unknown.headers.get("x-amas-cost-unpriced"), "true");
  assert.equal(json.headers.get("x-amas-cost-unpriced"), null);
  const byModel: CostSummary = await (await fetch(`${gw.url}/v1/costs?by=model&window=1h`)).json();
  assert.equal(byModel.groups.find((g) => g.key === "house-llm-7b")?.unpriced_requests, 1);
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(metrics, /amas_cost_estimated_requests_total\{model="gpt-4o"\} 2/);
  assert.match(metrics, /amas_cost_unpriced_requests_total\{model="house-llm-7b"\} 1/);
});

Deno.test("deduplicated followers cost nothing and count what the shared call saved them", async () => {
  await using gw = await startGateway({ overrides: { cache: { enabled: false } } });
  await gw.gateway.registry.sim.patch({ latency_ms: 400 });
  const responses = await Promise.all(
    Array.from(
      { length: 4 },
      () =>
        postJson(`${gw.url}/v1/chat/completions`, chatBody("same question", { model: "sim-large" }), {
          "x-amas-agent": "twins",
        }),
    ),
  );
  const bodies = await Promise.all(responses.map((r) => r.json()));
  const costs = responses.map((r) => Number(r.headers.get("x-amas-cost-usd")));
  const full = simCost(bodies[0].usage);
  const paid = costs.filter((c) => c > 0);
  assert.equal(paid.length, 1, `one upstream call paid: ${costs}`);
  assert.ok(Math.abs(paid[0] - Number(full.toFixed(8))) < 1e-12);

  const summary: CostSummary = await (await fetch(`${gw.url}/v1/costs?by=agent&window=1h`)).json();
  const twins = summary.groups.find((g) => g.key === "twins")!;
  assert.equal(twins.requests, 4);
  assert.equal(twins.dedup_hits, 3);
  assert.ok(Math.abs(twins.saved_dedup_usd - 3 * full) < 1e-12);
  assert.ok(Math.abs(twins.cost_usd - full) < 1e-12);
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  const line = metrics.split("\n").find((l) => l.startsWith('amas_cost_saved_usd_total{reason="dedup"}'));
  assert.ok(line && Math.abs(Number(line.split(" ")[1]) - 3 * full) < 1e-12, String(line));
});

const KEYS = "acme=sk-acme-0123456789,globex=sk-globex-0123456789";
const ACME = { authorization: "Bearer sk-acme-0123456789" };
const GLOBEX = { authorization: "Bearer sk-globex-0123456789" };

Deno.test("a hard budget rejects with 429 budget_exceeded naming the budget and its reset; a soft one alerts", async () => {
  const logged: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args.map(String).join(" "));
  try {
    await using gw = await startGateway({
      env: { AMAS_API_KEYS: KEYS, AMAS_ADMIN_TOKEN: "admin-0123456789" },
      overrides: {
        cache: { enabled: false },
        cost: {
          budgets: {
            tenants: { acme: { daily: { hard: 0.0005 } } },
            agents: { noisy: { monthly: { soft: 0.0001 } } },
          },
        },
      },
    });
    const url = `${gw.url}/v1/chat/completions`;
    const spent: number[] = [];
    let rejection: Response | undefined;
    for (let i = 0; i < 50 && !rejection; i++) {
      const res = await postJson(url, chatBody(`acme question ${i}`, { model: "sim-large" }), ACME);
      if (res.status === 429) rejection = res;
      else {
        assert.equal(res.status, 200);
        spent.push(Number(res.headers.get("x-amas-cost-usd")));
        await res.body?.cancel();
      }
    }
    assert.ok(rejection, "the hard limit is reached");
    // Requests pass while the spend is under the limit; the first one after it reached the limit is rejected.
    const total = spent.reduce((a, b) => a + b, 0);
    assert.ok(spent.length >= 1 && total >= 0.0005 && total - spent.at(-1)! < 0.0005, `spent ${spent}`);
    const again = await postJson(url, chatBody("acme once more", { model: "sim-large" }), ACME);
    assert.equal(again.status, 429, "and stays rejected");
    await again.body?.cancel();
    const err = (await rejection!.json()).error;
    assert.equal(err.code, "budget_exceeded");
    assert.equal(err.type, "insufficient_quota");
    const midnight = new Date(Date.UTC(
      new Date().getUTCFullYear(),
      new Date().getUTCMonth(),
      new Date().getUTCDate() + 1,
    ));
    assert.match(err.message, /daily budget of tenant 'acme'/);
    assert.ok(err.message.includes(`resets at ${midnight.toISOString()}`), err.message);
    assert.match(err.message, /cost\.budgets\.tenants\.acme\.daily\.hard/);
    const retryAfter = Number(rejection!.headers.get("retry-after"));
    assert.ok(Math.abs(retryAfter - (midnight.getTime() - Date.now()) / 1000) < 120, `retry-after ${retryAfter}`);
    assert.equal(rejection!.headers.get("x-should-retry"), "false");

    // Another tenant is not affected; its agent 'noisy' crosses a soft limit: answered, but alerted.
    const ok = await postJson(url, chatBody("globex question", { model: "sim-large" }), {
      ...GLOBEX,
      "x-amas-agent": "noisy",
    });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /amas_budget_alerts_total\{scope="agent:globex\/noisy",window="monthly",level="soft"\} 1/);
    assert.match(metrics, /amas_budget_alerts_total\{scope="tenant:acme",window="daily",level="hard"\} 1/);
    assert.match(metrics, /amas_budget_rejections_total\{scope="tenant:acme"\} 2/);
    const ratio = metrics.split("\n").find((l) => l.startsWith('amas_budget_utilization_ratio{scope="tenant:acme"'));
    assert.ok(ratio && Number(ratio.split(" ")[1]) >= 1, String(ratio));
    assert.ok(
      logged.some((l) => l.includes('"budget soft limit reached"') && l.includes('"scope":"agent:globex/noisy"')),
      "a warning is logged",
    );

    // Each tenant sees its own figures only; the admin token sees both.
    const acme: CostSummary = await (await fetch(`${gw.url}/v1/costs?by=tenant`, { headers: ACME })).json();
    assert.deepEqual(acme.groups.map((g) => g.key), ["acme"]);
    assert.equal(acme.groups[0].requests, spent.length);
    assert.deepEqual(acme.budgets.map((b) => b.scope), ["tenant:acme"]);
    const globex: CostSummary = await (await fetch(`${gw.url}/v1/costs?by=agent`, { headers: GLOBEX })).json();
    assert.deepEqual(globex.groups.map((g) => `${g.tenant}/${g.key}`), ["globex/noisy"]);
    const all: CostSummary = await (await fetch(`${gw.url}/v1/costs?by=tenant`, {
      headers: { ...ACME, "x-amas-admin-token": "admin-0123456789" },
    })).json();
    assert.deepEqual(all.groups.map((g) => g.key).sort(), ["acme", "globex"]);
    const wrongAdmin = await fetch(`${gw.url}/v1/costs`, { headers: { ...ACME, "x-amas-admin-token": "nope-nope-1" } });
    assert.equal(wrongAdmin.status, 403);
    await wrongAdmin.body?.cancel();
    const badWindow = await fetch(`${gw.url}/v1/costs?window=3y`, { headers: ACME });
    assert.equal(badWindow.status, 400);
    assert.equal((await badWindow.json()).error.param, "window");
  } finally {
    console.error = original;
  }
});

Deno.test("a cache hit costs 0, counts what it saved, and the cache's embedding work is observed", async () => {
  await using gw = await startGateway({ overrides: { cache: { enabled: true, embedder: "hash" } } });
  const ask = () =>
    postJson(`${gw.url}/v1/chat/completions`, chatBody("What does the cache save?", { model: "sim-large" }), {
      "x-amas-agent": "reuser",
    });
  const first = await ask();
  const firstBody = await first.json();
  assert.equal(first.headers.get("x-amas-cache"), "miss");
  const full = simCost(firstBody.usage);
  let hit: Response | undefined;
  // The cache writes behind: poll until the entry answers.
  for (let i = 0; i < 100 && !hit; i++) {
    const res = await ask();
    await res.body?.cancel();
    if (res.headers.get("x-amas-cache") !== "miss") hit = res;
    else await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(hit, "the second ask is served from the cache");
  assert.equal(hit.headers.get("x-amas-cost-usd"), "0.00000000");
  // A streamed cache hit is priced before its headers leave: the header is the number, not "pending".
  const streamedHit = await postJson(
    `${gw.url}/v1/chat/completions`,
    chatBody("What does the cache save?", { model: "sim-large", stream: true }),
    { "x-amas-agent": "reuser" },
  );
  assert.notEqual(streamedHit.headers.get("x-amas-cache"), "miss");
  assert.equal(streamedHit.headers.get("x-amas-cost-usd"), "0.00000000");
  assert.ok((await sseLines(streamedHit)).includes(": x-amas-cost-usd=0.00000000"));

  // A different question in the now non-empty scope makes the lookup embed it (the request's `embed` span).
  const other = await postJson(
    `${gw.url}/v1/chat/completions`,
    chatBody("How much did the gateway spend this week on the research agent?", { model: "sim-large" }),
    { "x-amas-agent": "reuser" },
  );
  await other.body?.cancel();
  assert.match(other.headers.get("server-timing") ?? "", /embed;dur=/);

  const summary: CostSummary = await (await fetch(`${gw.url}/v1/costs?by=agent&window=1h`)).json();
  const reuser = summary.groups.find((g) => g.key === "reuser")!;
  assert.equal(reuser.cache_hits, 2);
  assert.ok(Math.abs(reuser.saved_cache_usd - 2 * full) < 1e-12, `saved ${reuser.saved_cache_usd} vs 2 × ${full}`);
  assert.equal(reuser.upstream_requests, reuser.requests - 2);
  const profile = await (await fetch(`${gw.url}/v1/costs/profile?window=1h`)).json();
  const figures = profile.cache.find((a: { agent: string }) => a.agent === "reuser");
  assert.ok(figures && figures.embeddings >= 1 && figures.embeddingCostUsd > 0, JSON.stringify(figures));
});

Deno.test("requests a routing deployment answers are priced at the deployment's configured price", async () => {
  await using gw = await startGateway({
    overrides: {
      cache: { enabled: false },
      providers: { deployments: { "cheap-pool": { type: "sim", inputPerMTok: 1, outputPerMTok: 2 } } },
      routing: { models: { "sim-pooled": { policy: "weighted", deployments: ["cheap-pool"] } } },
    },
  });
  const res = await postJson(`${gw.url}/v1/chat/completions`, chatBody("route me", { model: "sim-pooled" }));
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  const expected = (body.usage.prompt_tokens * 1 + body.usage.completion_tokens * 2) / 1e6;
  assert.equal(res.headers.get("x-amas-cost-usd"), expected.toFixed(8));
});
