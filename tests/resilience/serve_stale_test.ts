/**
 * Serve-stale-on-error end to end, with the real response cache: when every upstream of a call fails, an expired
 * cache entry of that exact call answers (`x-amas-stale: true`); another tenant never gets it; a call with no
 * entry gets the upstream error.
 */
import assert from "node:assert/strict";
import { chatBody, postJson, startGateway } from "../support/gateway.ts";
import type { SimulatedProvider } from "../../src/providers/simulated.ts";
import { metricValue, sleep } from "./helpers.ts";

Deno.test("every upstream failing: an expired cache entry answers, marked x-amas-stale", async () => {
  await using gw = await startGateway({
    env: { AMAS_LOG_LEVEL: "error", AMAS_API_KEYS: "acme=sk-acme-0001,globex=sk-globex-02" },
    overrides: {
      cache: { embedder: "hash", agents: { shortlived: { ttlSeconds: 1 } } },
      providers: {
        deployments: { west: { type: "sim", simProfile: { ttftMs: 5, jitterMs: 0, completionTokens: 12 } } },
        models: { "model-a": { provider: "west" } },
      },
      resilience: { upstream: { retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 2 } } },
    },
  });
  if (!gw.gateway.cache) {
    console.log("cache disabled in this build: nothing to serve stale from");
    return;
  }
  const url = `${gw.url}/v1/chat/completions`;
  const acme = { authorization: "Bearer sk-acme-0001", "x-amas-agent": "shortlived" };
  const body = chatBody("what is the stale answer?", { model: "model-a" });
  const first = await postJson(url, body, acme);
  assert.equal(first.status, 200);
  const original = (await first.json()).choices[0].message.content;
  // Wait past the 1 s TTL: the entry no longer answers as a normal hit.
  await sleep(1_300);

  (gw.gateway.registry.get("west") as SimulatedProvider).patch({ error_rate: 1 });
  const stale = await postJson(url, body, acme);
  assert.equal(stale.status, 200);
  assert.equal(stale.headers.get("x-amas-stale"), "true");
  assert.equal((await stale.json()).choices[0].message.content, original);

  const streamed = await postJson(url, { ...body, stream: true }, acme);
  assert.equal(streamed.status, 200);
  assert.equal(streamed.headers.get("x-amas-stale"), "true");
  assert.match(await streamed.text(), /data: \[DONE\]/);

  // Another tenant asking the same thing gets the upstream error, never acme's entry.
  const globex = await postJson(url, body, { authorization: "Bearer sk-globex-02", "x-amas-agent": "shortlived" });
  // 502 from the failing upstream, or 503 once five failed attempts opened west's breaker.
  assert.ok(globex.status === 502 || globex.status === 503, `status ${globex.status}`);
  assert.equal(globex.headers.get("x-amas-stale"), null);
  await globex.body?.cancel();
  const unknown = await postJson(url, chatBody("never asked before", { model: "model-a" }), acme);
  assert.ok(unknown.status === 502 || unknown.status === 503, `status ${unknown.status}`);
  assert.equal(unknown.headers.get("x-amas-stale"), null);
  await unknown.body?.cancel();

  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.equal(metricValue(metrics, "amas_stale_served_total"), 2);
  const report = await (await fetch(`${gw.url}/v1/resilience`, { headers: acme })).json();
  assert.equal(report.serve_stale, true);
});
