import assert from "node:assert/strict";
import { chatBody, postJson, startGateway } from "../support/gateway.ts";

function sseEvents(text: string): string[] {
  return text.split("\n\n").map((e) => e.trim()).filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));
}

Deno.test("chat completions: JSON, SSE, headers, usage only when asked", async () => {
  await using gw = await startGateway();
  const url = `${gw.url}/v1/chat/completions`;

  const json = await postJson(url, chatBody("What is 2+2?"), { "x-request-id": "req-abcdef-123" });
  assert.equal(json.status, 200);
  assert.equal(json.headers.get("x-amas-request-id"), "req-abcdef-123");
  assert.equal(json.headers.get("x-amas-cache") !== null, true);
  assert.match(json.headers.get("server-timing")!, /^gateway;dur=[\d.]+, .*upstream;dur=[\d.]+.*total;dur=[\d.]+$/);
  const body = await json.json();
  assert.equal(body.object, "chat.completion");
  assert.equal(body.choices[0].finish_reason, "stop");
  assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens);

  // Same prompt, same model → same deterministic text; a different prompt → a different text.
  const again = await (await postJson(url, chatBody("What is 2+2?"), { "x-amas-cache": "bypass" })).json();
  assert.equal(again.choices[0].message.content, body.choices[0].message.content);
  const other = await (await postJson(url, chatBody("What is 3+3?"), { "x-amas-cache": "bypass" })).json();
  assert.notEqual(other.choices[0].message.content, body.choices[0].message.content);

  const stream = await postJson(url, chatBody("Stream please", { stream: true }), { "x-amas-cache": "bypass" });
  assert.equal(stream.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const events = sseEvents(await stream.text());
  assert.equal(events.at(-1), "[DONE]");
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
  assert.equal(chunks.some((c) => c.usage), false, "no usage chunk unless stream_options.include_usage");
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
  assert.match(text, /re: Stream please\./);

  const withUsage = await postJson(
    url,
    chatBody("Stream please", { stream: true, stream_options: { include_usage: true } }),
    { "x-amas-cache": "bypass" },
  );
  const usageChunks = sseEvents(await withUsage.text()).slice(0, -1).map((e) => JSON.parse(e)).filter((c) => c.usage);
  assert.equal(usageChunks.length, 1);
  assert.deepEqual(usageChunks[0].choices, []);

  const n2 = await (await postJson(url, chatBody("two answers", { n: 2 }), { "x-amas-cache": "bypass" })).json();
  assert.equal(n2.choices.length, 2);
  assert.notEqual(n2.choices[0].message.content, n2.choices[1].message.content);
});

Deno.test("probes, models and metrics answer without a key", async () => {
  await using gw = await startGateway({ env: { AMAS_API_KEYS: "acme=sk-acme-000001" } });
  for (const path of ["/healthz", "/readyz", "/metrics"]) {
    const r = await fetch(`${gw.url}${path}`);
    assert.equal(r.status, 200, path);
    await r.body?.cancel();
  }
  assert.equal(await fetch(`${gw.url}/v1/models`).then(async (r) => (await r.body?.cancel(), r.status)), 401);
  const models = await (await fetch(`${gw.url}/v1/models`, { headers: { authorization: "Bearer sk-acme-000001" } }))
    .json();
  assert.ok(models.data.some((m: { id: string }) => m.id === "sim-small"));

  await (await postJson(`${gw.url}/v1/chat/completions`, chatBody("count me"), {
    authorization: "Bearer sk-acme-000001",
    "x-amas-agent": "research_agent",
  })).text();
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(metrics, /amas_upstream_requests_total\{provider="sim",model="sim-small",outcome="ok"\} 1/);
  assert.match(
    metrics,
    /amas_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="200",agent="research_agent"\} 1/,
  );
  assert.match(metrics, /amas_http_request_duration_seconds_bucket\{.*le="0.001"\}/);
});

Deno.test("readiness turns red while draining", async () => {
  const gw = await startGateway();
  gw.gateway.readiness.drain();
  const r = await fetch(`${gw.url}/readyz`);
  assert.equal(r.status, 503);
  assert.equal((await r.json()).checks.shutdown.detail, "draining");
  await gw.shutdown();
});

Deno.test("PUT /admin/sim injects failures that surface as gateway errors", async () => {
  await using gw = await startGateway();
  const put = await fetch(`${gw.url}/admin/sim`, {
    method: "PUT",
    body: JSON.stringify({ model: "sim-large", error_rate: 1 }),
  });
  assert.equal(put.status, 200);
  await put.body?.cancel();
  const r = await postJson(`${gw.url}/v1/chat/completions`, chatBody("fail", { model: "sim-large" }), {
    "x-amas-cache": "bypass",
  });
  assert.ok(r.status === 502 || r.status === 503, `status ${r.status}`);
  const body = await r.json();
  assert.equal(typeof body.error.message, "string");
});
