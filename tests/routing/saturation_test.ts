import assert from "node:assert/strict";
import { callCounts, diff, drive, startRoutingGateway } from "./support.ts";

const NAMES = ["primary", "overflow"];

Deno.test("a deployment whose bulkhead is full (resilience) or at maxConcurrency (routing) is skipped, not queued on", async () => {
  await using gw = await startRoutingGateway({
    deployments: {
      // overflow has weight 0: it is only ever chosen when primary cannot take the call.
      primary: { weight: 1, simProfile: { ttftMs: 80, jitterMs: 2, completionTokens: 8 } },
      overflow: { weight: 0, simProfile: { ttftMs: 80, jitterMs: 2, completionTokens: 8 } },
    },
    models: { "chat-s": { policy: "weighted", deployments: NAMES } },
    resilience: { providers: { primary: { bulkhead: { maxConcurrent: 2, maxQueue: 64 } } } },
  });
  const t0 = callCounts(gw, NAMES);
  const statuses = await drive(gw.url, "chat-s", { concurrency: 6, durationMs: 1_500 });
  assert.ok(statuses.every((s) => s === 200));
  const counts = diff(callCounts(gw, NAMES), t0);
  // At most 2 calls fit in primary at once; the other 4 concurrent calls go to overflow instead of waiting.
  assert.ok(counts.overflow > counts.primary, JSON.stringify(counts));
  assert.ok(counts.primary > 0, JSON.stringify(counts));
});

Deno.test("maxConcurrency alone (no bulkhead limit) also sends the excess elsewhere", async () => {
  await using gw = await startRoutingGateway({
    deployments: {
      primary: { weight: 1, maxConcurrency: 1, simProfile: { ttftMs: 60, jitterMs: 2, completionTokens: 8 } },
      overflow: { weight: 0, simProfile: { ttftMs: 60, jitterMs: 2, completionTokens: 8 } },
    },
    models: { "chat-s": { policy: "weighted", deployments: NAMES } },
  });
  const t0 = callCounts(gw, NAMES);
  await drive(gw.url, "chat-s", { concurrency: 4, durationMs: 1_000 });
  const counts = diff(callCounts(gw, NAMES), t0);
  assert.ok(counts.overflow > counts.primary && counts.primary > 0, JSON.stringify(counts));
});
