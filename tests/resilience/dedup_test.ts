/**
 * Single-flight over HTTP: 100 identical concurrent requests make exactly one upstream call and get 100 correct
 * answers, as JSON and as streams; a follower or the leader's client going away does not cancel the shared call.
 */
import assert from "node:assert/strict";
import { chatBody, postJson, startGateway } from "../support/gateway.ts";
import { metricValue, sleep } from "./helpers.ts";

const N = 100;

async function upstreamCalls(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return metricValue(text, "amas_upstream_requests_total");
}

function sseText(body: string): { text: string; done: boolean } {
  let text = "";
  let done = false;
  for (const line of body.split("\n")) {
    if (!line.startsWith("data: ")) continue;
    const data = line.slice(6);
    if (data === "[DONE]") done = true;
    else text += JSON.parse(data).choices?.[0]?.delta?.content ?? "";
  }
  return { text, done };
}

Deno.test("100 identical concurrent requests share one upstream call (JSON and streamed)", async () => {
  // A slow first token keeps the leader in flight while all 100 requests arrive, even on a loaded machine.
  await using gw = await startGateway({ env: { AMAS_LOG_LEVEL: "error", AMAS_CACHE_ENABLED: "false" } });
  gw.gateway.registry.sim.patch({ model: "sim-small", latency_ms: 2500, jitter_ms: 0, tokens_per_second: 200 });
  const headers = { "x-amas-cache": "bypass" };

  for (const stream of [false, true]) {
    const prompt = `dedup ${stream ? "stream" : "json"} ${crypto.randomUUID()}`;
    const before = await upstreamCalls(gw.url);
    const simBefore = gw.gateway.registry.sim.stats().calls;
    const responses = await Promise.all(
      Array.from({ length: N }, () => postJson(`${gw.url}/v1/chat/completions`, chatBody(prompt, { stream }), headers)),
    );
    const bodies = await Promise.all(responses.map((r) => r.text()));
    assert.deepEqual(responses.map((r) => r.status), Array(N).fill(200));
    const texts = bodies.map((b) => stream ? sseText(b).text : JSON.parse(b).choices[0].message.content);
    if (stream) assert.ok(bodies.every((b) => sseText(b).done), "every stream ends with [DONE]");
    // The simulated answer names its model, its fingerprint and the prompt: each is the right, whole answer.
    assert.match(texts[0], new RegExp(`^\\[sim-small [0-9a-f]{16}\\] re: ${prompt}\\.`));
    assert.equal(new Set(texts).size, 1, "all 100 got the same answer");
    assert.ok(texts[0].split(" ").length > 20, "the whole answer, not a prefix");
    assert.equal((await upstreamCalls(gw.url)) - before, 1, "amas_upstream_requests_total grew by exactly 1");
    assert.equal(gw.gateway.registry.sim.stats().calls - simBefore, 1, "the simulated provider saw one call");
  }
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.equal(metricValue(metrics, "amas_dedup_joins_total"), 2 * (N - 1));
});

Deno.test("followers and the leader's client may leave without cancelling the shared call for the others", async () => {
  await using gw = await startGateway({ env: { AMAS_LOG_LEVEL: "error", AMAS_CACHE_ENABLED: "false" } });
  // ~40 tokens at 40 tokens/s: the stream lasts about a second after a 300 ms first token.
  gw.gateway.registry.sim.patch({
    model: "sim-small",
    latency_ms: 300,
    jitter_ms: 0,
    tokens_per_second: 40,
    completion_tokens: 40,
  });
  const prompt = `leave ${crypto.randomUUID()}`;
  const url = `${gw.url}/v1/chat/completions`;
  const headers = { "x-amas-cache": "bypass" };
  const body = chatBody(prompt, { stream: true });

  const leaderClient = new AbortController();
  const leader = fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: leaderClient.signal,
  }).catch((e) => e);
  await sleep(50);
  const quitterClient = new AbortController();
  const quitter = fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: quitterClient.signal,
  }).catch((e) => e);
  const stayer = postJson(url, body, headers);
  // The leader's client reads the first chunks, then leaves; a follower leaves before its first byte.
  const leaderResponse = await leader;
  assert.ok(leaderResponse instanceof Response);
  const reader = leaderResponse.body!.getReader();
  await reader.read();
  quitterClient.abort();
  leaderClient.abort();
  await reader.cancel().catch(() => {});
  await quitter;
  await sleep(300);
  // A late joiner, arriving mid-stream, gets the chunks so far and then the live ones.
  const late = postJson(url, chatBody(prompt), headers);

  const stayed = sseText(await (await stayer).text());
  assert.equal(stayed.done, true);
  assert.match(stayed.text, new RegExp(`^\\[sim-small [0-9a-f]{16}\\] re: ${prompt}\\.`));
  const lateJson = await (await late).json();
  assert.equal(lateJson.choices[0].message.content, stayed.text);
  assert.equal(gw.gateway.registry.sim.stats().calls, 1);
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  assert.equal(metricValue(text, "amas_upstream_requests_total", { outcome: "ok" }), 1);
});

Deno.test("when every caller leaves, the shared upstream call is cancelled", async () => {
  await using gw = await startGateway({ env: { AMAS_LOG_LEVEL: "error", AMAS_CACHE_ENABLED: "false" } });
  gw.gateway.registry.sim.patch({ model: "sim-small", latency_ms: 5_000, jitter_ms: 0 });
  const url = `${gw.url}/v1/chat/completions`;
  const clients = [new AbortController(), new AbortController()];
  const body = JSON.stringify(chatBody(`cancel ${crypto.randomUUID()}`));
  const pending = clients.map((c) =>
    fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body, signal: c.signal })
      .catch(() => null)
  );
  const inFlight = () => gw.gateway.resilience?.dedup?.inFlight ?? -1;
  const arrived = Date.now() + 10_000;
  while (inFlight() !== 1 && Date.now() < arrived) await sleep(20);
  assert.equal(inFlight(), 1);
  for (const c of clients) c.abort();
  await Promise.all(pending);
  const deadline = Date.now() + 2_000;
  while (inFlight() !== 0 && Date.now() < deadline) await sleep(20);
  assert.equal(inFlight(), 0);
  const deadline2 = Date.now() + 10_000;
  let text = "";
  while (Date.now() < deadline2) {
    text = await (await fetch(`${gw.url}/metrics`)).text();
    if (metricValue(text, "amas_upstream_requests_total", { outcome: "cancelled" }) === 1) break;
    await sleep(50);
  }
  assert.equal(metricValue(text, "amas_upstream_requests_total", { outcome: "cancelled" }), 1);
});
