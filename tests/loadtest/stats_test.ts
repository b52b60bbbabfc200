import assert from "node:assert/strict";
import fc from "fast-check";
import { mannWhitneyGreater, median, quantile } from "../../src/loadtest/stats.ts";

Deno.test("quantile interpolates between order statistics", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.equal(quantile([10, 20, 30, 40, 50], 0.25), 20);
  assert.equal(quantile([10, 20], 0.9), 19);
  assert.ok(Number.isNaN(median([])));
});

Deno.test("Mann-Whitney exact p-values match the textbook values", () => {
  // Complete separation of 3 vs 3: U = 9, only 1 of C(6,3) = 20 orderings is that extreme.
  const r = mannWhitneyGreater([1, 2, 3], [4, 5, 6]);
  assert.equal(r.method, "exact");
  assert.equal(r.u, 9);
  assert.ok(Math.abs(r.p - 1 / 20) < 1e-12);
  // The other direction has no evidence at all.
  assert.equal(mannWhitneyGreater([4, 5, 6], [1, 2, 3]).p, 1);
  // 5 vs 5 fully separated: 1 / C(10,5) = 1/252.
  assert.ok(Math.abs(mannWhitneyGreater([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]).p - 1 / 252) < 1e-12);
  // One swap: U = 24, two orderings as or more extreme -> 2/252.
  assert.ok(Math.abs(mannWhitneyGreater([1, 2, 3, 4, 6], [5, 7, 8, 9, 10]).p - 2 / 252) < 1e-12);
});

Deno.test("Mann-Whitney p-values are valid probabilities and the normal approximation agrees with the exact one", () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 0, max: 1000, noNaN: true }), { minLength: 1, maxLength: 30 }),
      fc.array(fc.double({ min: 0, max: 1000, noNaN: true }), { minLength: 1, maxLength: 30 }),
      (a, b) => {
        const r = mannWhitneyGreater(a, b);
        assert.ok(r.p >= 0 && r.p <= 1, `p=${r.p}`);
        assert.ok(r.u >= 0 && r.u <= a.length * b.length);
      },
    ),
  );
  // 30 vs 30 with a shift: exact and normal (forced through ties) give nearly the same p.
  const a = Array.from({ length: 30 }, (_, i) => i);
  const b = Array.from({ length: 30 }, (_, i) => i + 6.5);
  const exact = mannWhitneyGreater(a, b);
  const withTie = mannWhitneyGreater([...a.slice(0, 29), 28], b);
  assert.equal(exact.method, "exact");
  assert.equal(withTie.method, "normal");
  assert.ok(Math.abs(exact.p - withTie.p) < 0.02, `${exact.p} vs ${withTie.p}`);
});

Deno.test("Mann-Whitney rejects at the nominal rate under the null (no more false alarms than alpha)", () => {
  // 2000 pairs of 6-window samples from the same distribution: the share with p < 0.05 stays near 0.05.
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  let rejections = 0;
  const trials = 2000;
  for (let t = 0; t < trials; t++) {
    const a = Array.from({ length: 6 }, rand);
    const b = Array.from({ length: 6 }, rand);
    if (mannWhitneyGreater(a, b).p < 0.05) rejections++;
  }
  assert.ok(rejections / trials < 0.07, `false alarm rate ${rejections / trials}`);
});
