/**
 * The embedded simulator's models are separate upstreams: when one model's breaker opens, the other models of the
 * same provider keep answering (found by the breaker_drill load scenario).
 */
import assert from "node:assert/strict";
import { chatBody, postJson, startGateway } from "../support/gateway.ts";
import { metricValue } from "./helpers.ts";

Deno.test("a failing simulated model opens its own breaker, not its siblings'", async () => {
  await using gw = await startGateway({
    env: { AMAS_LOG_LEVEL: "error", AMAS_CACHE_ENABLED: "false" },
    overrides: {
      providers: {
        sim: {
          models: {
            "sim-small": { ttftMs: 5, jitterMs: 0, errorRate: 1 },
            "sim-large": { ttftMs: 5, jitterMs: 0 },
          },
        },
      },
    },
  });
  const url = `${gw.url}/v1/chat/completions`;
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) {
    const r = await postJson(url, chatBody(`broken ${i}`, { model: "sim-small" }));
    statuses.push(r.status);
    await r.body?.cancel();
  }
  assert.ok(statuses.every((s) => s >= 500), `sim-small always fails: ${statuses}`);
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.equal(metricValue(metrics, "amas_circuit_breaker_state", { provider: "sim/sim-small" }), 2, "open");

  for (let i = 0; i < 5; i++) {
    const r = await postJson(url, chatBody(`healthy ${i}`, { model: "sim-large" }));
    const text = await r.text();
    assert.equal(r.status, 200, `sim-large answers while sim-small's breaker is open: ${text}`);
  }
  const after = await (await fetch(`${gw.url}/metrics`)).text();
  assert.equal(metricValue(after, "amas_circuit_breaker_state", { provider: "sim/sim-large" }), 0, "closed");
});
