import assert from "node:assert/strict";
import { callCounts, diff, drive, share, simOf, startRoutingGateway } from "./support.ts";

const NAMES = ["fast", "slow"];

Deno.test("least-latency sends most traffic to the fast deployment and shifts within seconds when it slows down", async () => {
  await using gw = await startRoutingGateway({
    deployments: {
      fast: { simProfile: { ttftMs: 20, jitterMs: 5, tokensPerSecond: 2000, completionTokens: 8 } },
      slow: { simProfile: { ttftMs: 150, jitterMs: 5, tokensPerSecond: 2000, completionTokens: 8 } },
    },
    models: { "chat-ll": { policy: "least-latency", deployments: NAMES } },
  });

  const t0 = callCounts(gw, NAMES);
  const phase1 = await drive(gw.url, "chat-ll", { concurrency: 3, durationMs: 2_500 });
  assert.ok(phase1.every((s) => s === 200), `statuses ${[...new Set(phase1)]}`);
  const first = diff(callCounts(gw, NAMES), t0);
  assert.ok(share(first, "fast") > 0.7, `fast got ${JSON.stringify(first)}`);

  // The fast deployment becomes the slow one, at run time.
  simOf(gw, "fast").patch({ latency_ms: 400 });
  const shiftStarted = performance.now();
  await drive(gw.url, "chat-ll", { concurrency: 3, durationMs: 1_000 });
  const t1 = callCounts(gw, NAMES);
  await drive(gw.url, "chat-ll", { concurrency: 3, durationMs: 2_000 });
  const after = diff(callCounts(gw, NAMES), t1);
  assert.ok(
    share(after, "slow") > 0.7,
    `1-3 s after the slowdown the other deployment should take most calls: ${JSON.stringify(after)}`,
  );
  assert.ok(performance.now() - shiftStarted < 10_000);

  const snapshot = gw.gateway.routing!.router.snapshot();
  assert.ok(snapshot.deployments.fast.peak_ewma_ms! > snapshot.deployments.slow.peak_ewma_ms!);
});

Deno.test("least-latency spreads load by calls in flight: a saturated fast deployment shares with the slower one", async () => {
  await using gw = await startRoutingGateway({
    deployments: {
      a: { simProfile: { ttftMs: 40, jitterMs: 2, tokensPerSecond: 2000, completionTokens: 8 } },
      b: { simProfile: { ttftMs: 80, jitterMs: 2, tokensPerSecond: 2000, completionTokens: 8 } },
    },
    models: { "chat-ll": { policy: "least-latency", deployments: ["a", "b"] } },
  });
  const t0 = callCounts(gw, ["a", "b"]);
  await drive(gw.url, "chat-ll", { concurrency: 12, durationMs: 2_000 });
  const counts = diff(callCounts(gw, ["a", "b"]), t0);
  // Cost is latency × (in flight + 1): with 12 concurrent calls the 2× slower deployment must take a real share,
  // while the faster one still takes more.
  assert.ok(share(counts, "b") > 0.1, JSON.stringify(counts));
  assert.ok(counts.a > counts.b, JSON.stringify(counts));
});
