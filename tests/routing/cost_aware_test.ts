import assert from "node:assert/strict";
import { callCounts, diff, drive, share, simOf, startRoutingGateway } from "./support.ts";

const NAMES = ["cheap", "mid", "premium"];
const DEPLOYMENTS = {
  cheap: { inputPerMTok: 0.1, outputPerMTok: 0.4, simProfile: { ttftMs: 300, jitterMs: 5, completionTokens: 8 } },
  mid: { inputPerMTok: 1, outputPerMTok: 4, simProfile: { ttftMs: 60, jitterMs: 5, completionTokens: 8 } },
  premium: { inputPerMTok: 10, outputPerMTok: 30, simProfile: { ttftMs: 15, jitterMs: 2, completionTokens: 8 } },
};

Deno.test("cost-aware chooses the cheapest deployment that meets its latency target", async () => {
  await using gw = await startRoutingGateway({
    deployments: DEPLOYMENTS,
    models: { "chat-ca": { policy: "cost-aware", latencyTargetMs: 150, deployments: NAMES } },
    // A 2 s time constant: a deployment that missed the target is re-measured within about a second.
    routing: { ewmaDecayMs: 2_000 },
  });
  const t0 = callCounts(gw, NAMES);
  const statuses = await drive(gw.url, "chat-ca", { concurrency: 2, durationMs: 2_500 });
  assert.ok(statuses.every((s) => s === 200));
  const counts = diff(callCounts(gw, NAMES), t0);
  // cheap misses the 150 ms target (300 ms) and is only re-measured now and then; premium meets it but costs 10×.
  assert.ok(share(counts, "mid") > 0.75, JSON.stringify(counts));
  assert.ok(counts.cheap >= 1, `the cheapest was measured: ${JSON.stringify(counts)}`);
  assert.ok(counts.premium <= 2, `premium only as a fallback: ${JSON.stringify(counts)}`);

  // The cheap deployment gets fast enough: after its estimate ages and it is re-measured, it takes over.
  simOf(gw, "cheap").patch({ latency_ms: 40 });
  await drive(gw.url, "chat-ca", { concurrency: 2, durationMs: 2_500 });
  const t1 = callCounts(gw, NAMES);
  await drive(gw.url, "chat-ca", { concurrency: 2, durationMs: 1_000 });
  const after = diff(callCounts(gw, NAMES), t1);
  assert.ok(share(after, "cheap") > 0.75, `cheap meets the target now: ${JSON.stringify(after)}`);
});
