import assert from "node:assert/strict";
import { callCounts, diff, drive, share, simOf, startRoutingGateway } from "./support.ts";

const NAMES = ["bad", "good"];
const HALF_OPEN_AFTER_MS = 3_000;
const SLOW_START_MS = 4_000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

Deno.test("a failing deployment gets no traffic while its real breaker is open, is probed, then slow-starts back", async () => {
  await using gw = await startRoutingGateway({
    deployments: {
      bad: { simProfile: { ttftMs: 10, jitterMs: 2, errorRate: 1, completionTokens: 8 } },
      good: { simProfile: { ttftMs: 10, jitterMs: 2, completionTokens: 8 } },
    },
    models: { "chat-w": { policy: "weighted", deployments: NAMES } },
    routing: { slowStartMs: SLOW_START_MS },
    resilience: {
      upstream: {
        retry: { maxRetries: 0 },
        breaker: { consecutiveFailures: 3, halfOpenAfterMs: HALF_OPEN_AFTER_MS },
      },
    },
  });
  const health = gw.gateway.resilience!.health;

  // Weighted 1:1: bad is first for every other call until its breaker opens; the fallback answers those.
  const warm: number[] = [];
  const openBy = Date.now() + 15_000;
  while (health.state("bad") !== "open" && Date.now() < openBy) {
    warm.push(...await drive(gw.url, "chat-w", { concurrency: 2, durationMs: 100 }));
  }
  const openedAt = performance.now();
  assert.equal(health.state("bad"), "open");
  assert.ok(warm.every((s) => s === 200), `the fallback answers: ${[...new Set(warm)]}`);

  const before = callCounts(gw, NAMES);
  const during = await drive(gw.url, "chat-w", { concurrency: 2, durationMs: 1_200 });
  const open = diff(callCounts(gw, NAMES), before);
  assert.ok(performance.now() - openedAt < HALF_OPEN_AFTER_MS, "still inside the breaker's break");
  assert.ok(during.length > 5 && during.every((s) => s === 200));
  assert.equal(open.bad, 0, `no call may reach bad while its breaker is open: ${JSON.stringify(open)}`);
  assert.equal(open.good, during.length, "every call went straight to good, no failed attempt first");

  // bad heals; once the break elapses the router sends it the probe, and the breaker closes.
  simOf(gw, "bad").patch({ error_rate: 0 });
  await sleep(HALF_OPEN_AFTER_MS + 100 - (performance.now() - openedAt));
  const probeFrom = callCounts(gw, NAMES);
  const closedBy = Date.now() + 10_000;
  while (health.state("bad") !== "closed" && Date.now() < closedBy) {
    await drive(gw.url, "chat-w", { concurrency: 1, durationMs: 50 });
  }
  const closedAt = performance.now();
  assert.equal(health.state("bad"), "closed", "the probe closed the breaker");
  // The probe; at most a call or two more if slow start admitted bad before this loop saw the breaker closed.
  const probed = diff(callCounts(gw, NAMES), probeFrom).bad;
  assert.ok(probed >= 1 && probed <= 3, `the probe reached bad: ${probed}`);

  // Slow start: right after closing bad gets a small share of its half; after slowStartMs, all of it.
  const t0 = callCounts(gw, NAMES);
  await drive(gw.url, "chat-w", { concurrency: 2, durationMs: 1_000 });
  const early = diff(callCounts(gw, NAMES), t0);
  await sleep(SLOW_START_MS + 200 - (performance.now() - closedAt));
  const t1 = callCounts(gw, NAMES);
  await drive(gw.url, "chat-w", { concurrency: 2, durationMs: 1_000 });
  const late = diff(callCounts(gw, NAMES), t1);
  assert.ok(share(early, "bad") < 0.3, `slow start holds bad back at first: ${JSON.stringify(early)}`);
  assert.ok(share(late, "bad") > 0.35, `after slow start bad is back to its half: ${JSON.stringify(late)}`);

  const snap = gw.gateway.routing!.router.snapshot();
  assert.equal(snap.deployments.bad.health, "closed");
  assert.equal(snap.deployments.bad.slow_start_ramp, 1);
  assert.ok(snap.deployments.bad.errors >= 3);
});
