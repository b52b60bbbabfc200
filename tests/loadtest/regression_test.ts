/**
 * The baseline rule on a real gateway (child process, simulated provider): a target slowed by 30 % (simulated
 * latency through `PUT /admin/sim`) is flagged as a regression against a baseline run, and an unchanged target
 * is not. Three independent pairs, all of which must be right, to show the rule is not a coin toss.
 */
import assert from "node:assert/strict";
import {
  applyOverrides,
  defineScenario,
  type RunResult,
  runScenario,
  startEmbeddedGateway,
} from "../../src/loadtest/mod.ts";

const BASE_LATENCY_MS = 100;
const JITTER_MS = 10;
// Total simulated time is latency + jitter/2 on average; +30 % of that, minus the unchanged jitter part.
const SLOWED_LATENCY_MS = Math.round((BASE_LATENCY_MS + JITTER_MS / 2) * 1.3 - JITTER_MS / 2);

const scenario = defineScenario({
  name: "regression_probe",
  description: "30 req/s for 6 s, sim-small, cache bypassed",
  load: { model: "open", stages: [{ durationS: 6, rate: 30 }] },
  mix: { models: { "sim-small": 1 }, headers: { "x-amas-cache": "bypass" } },
  gracefulStopS: 5,
});

async function setLatency(url: string, latencyMs: number): Promise<void> {
  const res = await fetch(`${url}/admin/sim`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    // Decode time is made negligible so the injected latency is the whole upstream time.
    body: JSON.stringify({
      model: "sim-small",
      latency_ms: latencyMs,
      jitter_ms: JITTER_MS,
      tokens_per_second: 100_000,
    }),
  });
  assert.equal(res.status, 200, await res.text());
}

function baselineOf(r: RunResult) {
  return { ...r, file: "in-memory" };
}

Deno.test({
  name: "a 30 % slower target is a regression against its baseline; an unchanged one is not (3 pairs)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    // The embedded gateway of `load run`: a child process running src/main.ts on a free port.
    const gateway = await startEmbeddedGateway();
    try {
      await setLatency(gateway.url, BASE_LATENCY_MS);
      // Warm the gateway (JIT, connections) so the first baseline is not slower than what follows.
      await runScenario(applyOverrides(scenario, { durationS: 5 }), { targetUrl: gateway.url });
      const log: string[] = [];
      for (let pair = 1; pair <= 3; pair++) {
        await setLatency(gateway.url, BASE_LATENCY_MS);
        const base = await runScenario(scenario, { targetUrl: gateway.url });
        const same = await runScenario(scenario, { targetUrl: gateway.url, baseline: baselineOf(base) });
        await setLatency(gateway.url, SLOWED_LATENCY_MS);
        const slow = await runScenario(scenario, { targetUrl: gateway.url, baseline: baselineOf(base) });
        const p50 = (r: RunResult) => r.comparison!.metrics.find((m) => m.metric === "latency_p50_ms")!;
        log.push(
          `pair ${pair}: unchanged ×${p50(same).ratio} p=${p50(same).pValue} regressions=[${
            same.comparison!.regressions
          }]` +
            `; slowed ×${p50(slow).ratio} p=${p50(slow).pValue} regressions=[${slow.comparison!.regressions}]`,
        );
        assert.equal(base.totals.errors, 0);
        assert.equal(same.comparison!.passed, true, log.join("\n"));
        assert.ok(slow.comparison!.regressions.includes("latency_p50_ms"), log.join("\n"));
        assert.equal(slow.passed, false);
      }
      console.log(log.join("\n"));
    } finally {
      await gateway.stop();
    }
  },
});
