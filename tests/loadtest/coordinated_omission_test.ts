/**
 * Open-model correctness against a target that stalls: every request sent during a one-second stall is answered
 * only when the stall ends. Latency measured from the intended send time must show the stall for all of them
 * (no coordinated omission); a closed-model user, who waits for its answer before sending again, records only
 * one slow request, which is exactly the omission the open model avoids.
 */
import assert from "node:assert/strict";
import { defineScenario, runScenario } from "../../src/loadtest/mod.ts";

/** A target that holds every request arriving in [stallFrom, stallUntil) until stallUntil. */
function stallingServer() {
  let stallFrom = Number.POSITIVE_INFINITY;
  let stallUntil = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    const now = performance.now();
    if (now >= stallFrom && now < stallUntil) await new Promise((r) => setTimeout(r, stallUntil - now));
    return new Response("ok");
  });
  return {
    url: `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`,
    stall(fromMs: number, durationMs: number) {
      stallFrom = performance.now() + fromMs;
      stallUntil = stallFrom + durationMs;
    },
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

Deno.test("open model: latency from the intended send time includes a target's stall", async () => {
  await using target = stallingServer();
  const scenario = defineScenario({
    name: "stall",
    description: "50 req/s for 3 s against a 1 s stall",
    load: { model: "open", stages: [{ durationS: 3, rate: 50 }] },
    mix: { http: { method: "GET", path: "/" } },
  });
  target.stall(1000, 1000);
  const r = await runScenario(scenario, { targetUrl: target.url });
  // Every arrival was sent and answered: nothing was skipped while the target stalled.
  assert.equal(r.totals.requests, 150);
  assert.equal(r.totals.dropped, 0);
  // About a third of the requests arrived during the stall and waited up to a second.
  assert.equal(r.timeline.reduce((n, w) => n + w.requests, 0), 150);
  assert.ok(r.latencyMs.max >= 850, `max ${r.latencyMs.max}`);
  assert.ok(r.latencyMs.p90 >= 400, `p90 ${r.latencyMs.p90} should reflect the stall`);
  assert.ok(r.latencyMs.p50 < 400, `p50 ${r.latencyMs.p50}: the other two thirds were fast`);

  // The closed model with one user sees the same stall as a single slow request.
  target.stall(1000, 1000);
  const closed = await runScenario(
    defineScenario({
      name: "stall_closed",
      description: "one user, 20 ms think time",
      load: { model: "closed", stages: [{ durationS: 3, vus: 1 }], thinkTimeMs: { min: 20, max: 20 } },
      mix: { http: { method: "GET", path: "/" } },
    }),
    { targetUrl: target.url },
  );
  assert.ok(closed.latencyMs.max >= 850, `closed max ${closed.latencyMs.max}`);
  assert.ok(closed.latencyMs.p90 < 100, `closed p90 ${closed.latencyMs.p90}: the omission the open model avoids`);
});

Deno.test("open model: arrivals beyond maxInFlight are dropped and counted, never queued", async () => {
  await using target = stallingServer();
  target.stall(500, 1000);
  const r = await runScenario(
    defineScenario({
      name: "stall_drop",
      description: "50 req/s for 2 s, at most 10 in flight, against a 1 s stall",
      load: { model: "open", stages: [{ durationS: 2, rate: 50 }], maxInFlight: 10 },
      mix: { http: { method: "GET", path: "/" } },
      slo: { maxDroppedRate: 0.01 },
    }),
    { targetUrl: target.url },
  );
  assert.equal(r.totals.requests + r.totals.dropped, 100);
  // ~50 arrivals fall into the stall; 10 fit in flight, the rest are dropped.
  assert.ok(r.totals.dropped >= 30 && r.totals.dropped <= 45, `dropped ${r.totals.dropped}`);
  assert.equal(r.slo.passed, false);
  assert.ok(r.timeline.some((w) => w.dropped > 0));
});
