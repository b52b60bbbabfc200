import assert from "node:assert/strict";
import fc from "fast-check";
import { LatencyHistogram } from "../../src/loadtest/histogram.ts";
import { quantile } from "../../src/loadtest/stats.ts";

Deno.test("HDR percentiles stay within 0.1 % (3 significant digits) of the exact nearest-rank value", () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 0.01, max: 60_000, noNaN: true }), { minLength: 1, maxLength: 400 }),
      fc.constantFrom(50, 90, 95, 99, 99.9),
      (values, p) => {
        const h = new LatencyHistogram();
        for (const v of values) h.recordMs(v);
        const sorted = values.map((v) => Math.max(1, Math.round(v * 1000)) / 1000).sort((a, b) => a - b);
        // HdrHistogram reports the nearest-rank percentile at the top of its bucket.
        const exact = sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
        const got = h.percentileMs(p);
        assert.ok(Math.abs(got - exact) <= exact * 0.001 + 0.001, `p${p}: hdr ${got} vs exact ${exact}`);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("summary, merge and the compressed encoding agree", () => {
  const a = new LatencyHistogram();
  const b = new LatencyHistogram();
  const all: number[] = [];
  for (let i = 1; i <= 1000; i++) {
    (i % 2 ? a : b).recordMs(i);
    all.push(i);
  }
  const merged = new LatencyHistogram();
  merged.add(a);
  merged.add(b);
  const s = merged.summary();
  assert.equal(s.count, 1000);
  assert.ok(Math.abs(s.p50 - quantile(all, 0.5)) <= 1);
  assert.ok(Math.abs(s.p99 - 990) <= 1);
  assert.ok(Math.abs(s.max - 1000) <= 1);
  assert.ok(Math.abs(s.mean - 500.5) <= 0.5);
  // Decoding keeps every bucket; only `max` moves to the top of its bucket (within 0.1 %).
  const decoded = LatencyHistogram.decode(merged.encode()).summary();
  assert.deepEqual({ ...decoded, max: 0 }, { ...s, max: 0 });
  assert.ok(Math.abs(decoded.max - s.max) <= s.max * 0.001);
  assert.deepEqual(new LatencyHistogram().summary().count, 0);
  assert.equal(new LatencyHistogram().percentileMs(99), 0);
});
