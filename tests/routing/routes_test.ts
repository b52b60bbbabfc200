import assert from "node:assert/strict";
import { drive, simOf, startRoutingGateway } from "./support.ts";

Deno.test("GET /v1/routing, per-deployment metrics, /v1/models, renamed upstream models and streams", async () => {
  await using gw = await startRoutingGateway({
    deployments: {
      east: { weight: 2, model: "sim-east-v1", maxConcurrency: 8, simProfile: { ttftMs: 10, completionTokens: 8 } },
      west: { weight: 1, inputPerMTok: 1, outputPerMTok: 2, simProfile: { ttftMs: 30, completionTokens: 8 } },
    },
    models: { "chat-x": { policy: "weighted", deployments: ["east", "west"] } },
  });
  const statuses = await drive(gw.url, "chat-x", { concurrency: 2, durationMs: 600 });
  const streamed = await drive(gw.url, "chat-x", { concurrency: 2, durationMs: 300, stream: true });
  assert.ok([...statuses, ...streamed].every((s) => s === 200));

  const routing = await (await fetch(`${gw.url}/v1/routing`)).json();
  assert.equal(routing.models["chat-x"].policy, "weighted");
  assert.deepEqual(routing.models["chat-x"].deployments.map((d: { name: string }) => d.name), ["east", "west"]);
  assert.equal(routing.models["chat-x"].deployments[0].upstream_model, "sim-east-v1");
  const { east, west } = routing.deployments;
  assert.equal(east.type, "sim");
  assert.equal(east.health, "closed");
  assert.equal(east.max_concurrency, 8);
  assert.equal(west.input_per_mtok, 1);
  assert.ok(east.requests > west.requests, "weight 2:1");
  assert.ok(east.latency_ewma_ms > 0 && east.latency_ewma_ms < west.latency_ewma_ms);
  assert.equal(east.in_flight + west.in_flight, 0, "streams release their in-flight slot when they end");
  assert.equal(routing.settings.slow_start_ms, 10_000);

  const text = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(
    text,
    /amas_routing_requests_total\{[^}]*model="chat-x"[^}]*deployment="east"[^}]*outcome="ok"[^}]*\} \d+/,
  );
  assert.match(text, /amas_routing_selected_total\{[^}]*model="chat-x"[^}]*deployment="west"[^}]*policy="weighted"/);
  assert.match(text, /amas_routing_request_duration_seconds_bucket\{[^}]*deployment="east"/);
  assert.match(text, /amas_routing_latency_ewma_seconds\{deployment="west",kind="json"\}/);
  assert.match(text, /amas_routing_latency_ewma_seconds\{deployment="west",kind="stream"\}/);

  const models = await (await fetch(`${gw.url}/v1/models`)).json();
  assert.ok(models.data.some((m: { id: string }) => m.id === "chat-x"));

  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-amas-cache": "bypass" },
    body: JSON.stringify({ model: "chat-x", messages: [{ role: "user", content: "which model?" }] }),
  });
  const body = await res.json();
  assert.ok(["sim-east-v1", "chat-x"].includes(body.model), body.model);

  // A client that goes away mid-stream: the deployment's in-flight slot is released all the same.
  simOf(gw, "west").patch({ tokens_per_second: 20, completion_tokens: 200 });
  simOf(gw, "east").patch({ tokens_per_second: 20, completion_tokens: 200 });
  const controller = new AbortController();
  const stream = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-amas-cache": "bypass" },
    body: JSON.stringify({ model: "chat-x", stream: true, messages: [{ role: "user", content: "long one" }] }),
    signal: controller.signal,
  });
  const reader = stream.body!.getReader();
  await reader.read();
  const busy = gw.gateway.routing!.router.allStats().reduce((n, s) => n + s.inFlight, 0);
  assert.equal(busy, 1, "a stream holds its deployment's slot until it ends");
  controller.abort();
  await reader.cancel().catch(() => {});
  const deadline = Date.now() + 5_000;
  while (gw.gateway.routing!.router.allStats().some((s) => s.inFlight > 0) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(gw.gateway.routing!.router.allStats().reduce((n, s) => n + s.inFlight, 0), 0);
});

Deno.test("PUT /admin/routing/deployments/{name}/sim changes a simulated deployment; bad input is a 4xx", async () => {
  await using gw = await startRoutingGateway({
    deployments: { a: { simProfile: { ttftMs: 10 } } },
    models: { "chat-y": { deployments: ["a"] } },
  });
  const put = (name: string, body: unknown) =>
    fetch(`${gw.url}/admin/routing/deployments/${name}/sim`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const ok = await put("a", { latency_ms: 250, error_rate: 0.5 });
  assert.equal(ok.status, 200);
  const profile = (await ok.json()).profile;
  assert.equal(profile.ttftMs, 250);
  assert.equal(profile.errorRate, 0.5);
  const unknown = await put("nope", { latency_ms: 1 });
  assert.equal(unknown.status, 404);
  await unknown.body?.cancel();
  const notSimDeployment = await put("sim", { latency_ms: 1 });
  assert.equal(notSimDeployment.status, 404);
  await notSimDeployment.body?.cancel();
  const bad = await put("a", { error_rate: 2 });
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error.message, /error_rate/);
  const extra = await put("a", { model: "sim-small" });
  assert.equal(extra.status, 400);
  await extra.body?.cancel();
});
