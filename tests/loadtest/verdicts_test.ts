import assert from "node:assert/strict";
import { compareRuns, evaluateSlo, steadyWindows } from "../../src/loadtest/verdicts.ts";
import type { WindowStats } from "../../src/loadtest/recorder.ts";
import type { Baseline } from "../../src/loadtest/result.ts";
import { LatencyHistogram } from "../../src/loadtest/histogram.ts";

function windows(p50s: number[], requests = 30): WindowStats[] {
  return p50s.map((p50, i) => ({
    t: i,
    requests,
    ok: requests,
    errors: 0,
    dropped: 0,
    rps: requests,
    p50,
    p95: p50 * 1.3,
    p99: p50 * 1.6,
    hitRate: null,
    gatewayP50: 1,
    ttftP50: null,
  }));
}

function baseline(timeline: WindowStats[]): Baseline {
  return { version: 1, scenario: "x", startedAt: "2026-01-01T00:00:00Z", loadModel: "open", timeline };
}

const noisy = (center: number, seed: number) =>
  Array.from({ length: 8 }, (_, i) => center * (1 + 0.04 * Math.sin(seed * 7 + i * 2.3)));

Deno.test("a 30 % slower run is a regression; the same distribution is not", () => {
  const base = baseline(windows([50, ...noisy(100, 1)])); // first window is warm-up and skipped
  const same = compareRuns(base, windows([60, ...noisy(100, 2)]));
  assert.equal(same.passed, true, JSON.stringify(same.metrics));
  const slow = compareRuns(base, windows([60, ...noisy(130, 3)]));
  assert.equal(slow.passed, false);
  assert.ok(slow.regressions.includes("latency_p50_ms"));
  const p50 = slow.metrics.find((m) => m.metric === "latency_p50_ms")!;
  assert.ok(p50.significant && p50.beyondTolerance && p50.ratio > 1.2);
});

Deno.test("a consistent but small shift is significant yet within tolerance: no regression", () => {
  const base = baseline(windows(noisy(100, 1)));
  const r = compareRuns(base, windows(noisy(105, 1)));
  const p50 = r.metrics.find((m) => m.metric === "latency_p50_ms")!;
  assert.equal(p50.significant, true);
  assert.equal(p50.beyondTolerance, false);
  assert.equal(r.passed, true);
});

Deno.test("one bad second is not a regression (no significance)", () => {
  const base = baseline(windows(noisy(100, 1)));
  const r = compareRuns(base, windows([...noisy(100, 2).slice(0, 7), 400]));
  assert.equal(r.passed, true, JSON.stringify(r.regressions));
});

Deno.test("lower throughput is a regression in a closed-model run", () => {
  const base = baseline(windows(noisy(100, 1)).map((w) => ({ ...w, rps: 50 + (w.t % 3) })));
  const cur = windows(noisy(100, 2)).map((w) => ({ ...w, rps: 30 + (w.t % 3) }));
  const r = compareRuns(base, cur);
  assert.deepEqual(r.regressions, ["throughput_rps"]);
});

Deno.test("steady windows drop warm-up and thin edge windows", () => {
  const tl = windows([1, 2, 3, 4, 5, 6]);
  tl[5].requests = 3;
  assert.deepEqual(steadyWindows(tl).map((w) => w.t), [1, 2, 3, 4]);
});

Deno.test("SLO checks: every threshold, and a run without answers never passes latency SLOs", () => {
  const h = new LatencyHistogram();
  for (let i = 1; i <= 100; i++) h.recordMs(i);
  const totals = {
    started: 100,
    requests: 100,
    ok: 98,
    errors: 2,
    dropped: 0,
    interrupted: 0,
    rps: 20,
    errorRate: 0.02,
    droppedRate: 0,
    cacheHitRate: 0.5,
    errorKinds: {},
  };
  const result = { latencyMs: h.summary(), totals, ttftMs: new LatencyHistogram().summary() };
  const ok = evaluateSlo({ p50Ms: 60, p95Ms: 96, maxErrorRate: 0.05, minRps: 10, minCacheHitRate: 0.4 }, result);
  assert.equal(ok.passed, true, JSON.stringify(ok.checks));
  const bad = evaluateSlo({ p99Ms: 50, maxErrorRate: 0.01, minCacheHitRate: 0.6, ttftP95Ms: 100 }, result);
  assert.deepEqual(bad.checks.filter((c) => !c.passed).map((c) => c.name), [
    "p99Ms",
    "maxErrorRate",
    "minCacheHitRate",
    "ttftP95Ms",
  ]);
  const tagged = evaluateSlo(
    { tags: { "model:b": { maxErrorRate: 0.01, p95Ms: 50 }, "model:c": { maxErrorRate: 0 } } },
    {
      ...result,
      tags: {
        "model:b": { count: 50, errors: 1, latencyMs: h.summary() },
      },
    },
  );
  assert.deepEqual(tagged.checks.map((c) => [c.name, c.passed]), [
    ["model:b.p95Ms", false],
    ["model:b.maxErrorRate", false],
    ["model:c.maxErrorRate", true],
  ]);
  const empty = evaluateSlo({ p99Ms: 1000 }, {
    latencyMs: new LatencyHistogram().summary(),
    totals: { ...totals, requests: 0 },
    ttftMs: new LatencyHistogram().summary(),
  });
  assert.equal(empty.passed, false);
});
