import assert from "node:assert/strict";
import { callCounts, diff, drive, share, simOf, startRoutingGateway } from "./support.ts";

const NAMES = ["bad", "good"];

Deno.test("a failing deployment gets no traffic while its real breaker is open, is probed, then slow-starts back", async () => {
  await using gw = await startRoutingGateway({
    deployments: {
      bad: { simProfile: { ttftMs: 10, jitterMs: 2, errorRate: 1, completionTokens: 8 } },
      good: { simProfile: { ttftMs: 10, jitterMs: 2, completionTokens: 8 } },
    },
    models: { "chat-w": { policy: "weighted", deployments: NAMES } },
    routing: { slowStartMs: 2_000 },
    resilience: {
      upstream: {
        retry: { maxRetries: 0 },
        breaker: { consecutiveFailures: 3, halfOpenAfterMs: 3_000 },
      },
    },
  });
  const health = gw.gateway.resilience!.health;

  // Weighted 1:1: bad is first for every other call until its breaker opens; the fallback answers those.
  const warm = await drive(gw.url, "chat-w", { concurrency: 2, durationMs: 400 });
  assert.ok(warm.every((s) => s === 200), `the fallback answers: ${[...new Set(warm)]}`);
  assert.equal(health.state("bad"), "open");
  const openedAt = performance.now();

  const before = callCounts(gw, NAMES);
  const during = await drive(gw.url, "chat-w", { concurrency: 2, durationMs: 1_500 });
  const open = diff(callCounts(gw, NAMES), before);
  assert.ok(performance.now() - openedAt < 3_000, "still inside the breaker's break");
  assert.ok(during.length > 20 && during.every((s) => s === 200));
  assert.equal(open.bad, 0, `no call may reach bad while its breaker is open: ${JSON.stringify(open)}`);
  assert.equal(open.good, during.length, "every call went straight to good, no failed attempt first");

  // bad heals; once the break elapses the router sends it the probe, the breaker closes, and bad's share ramps.
  simOf(gw, "bad").patch({ error_rate: 0 });
  await new Promise((r) => setTimeout(r, Math.max(0, 3_100 - (performance.now() - openedAt))));
  const t0 = callCounts(gw, NAMES);
  await drive(gw.url, "chat-w", { concurrency: 2, durationMs: 700 });
  const early = diff(callCounts(gw, NAMES), t0);
  assert.equal(health.state("bad"), "closed", "the probe closed the breaker");
  assert.ok(early.bad >= 1, `the probe reached bad: ${JSON.stringify(early)}`);
  await new Promise((r) => setTimeout(r, 1_500));
  const t1 = callCounts(gw, NAMES);
  await drive(gw.url, "chat-w", { concurrency: 2, durationMs: 1_000 });
  const late = diff(callCounts(gw, NAMES), t1);
  assert.ok(share(early, "bad") < 0.35, `slow start holds bad back at first: ${JSON.stringify(early)}`);
  assert.ok(share(late, "bad") > 0.4, `after slow start bad is back to its half: ${JSON.stringify(late)}`);

  const snap = gw.gateway.routing!.router.snapshot();
  assert.equal(snap.deployments.bad.health, "closed");
  assert.ok(snap.deployments.bad.errors >= 3);
});
