/** Property tests (fast-check): row keys survive any names, and bucketed sums equal the plain sum of what went in. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeRow, encodeRow, MemoryLedger } from "../../src/cost/ledger.ts";

Deno.test("row keys round-trip for any tenant, agent and model names", () => {
  fc.assert(
    fc.property(fc.string(), fc.string(), fc.string(), (tenant, agent, model) => {
      const key = encodeRow({ tenant, agent, model });
      // '#' separates the row from the counter in Redis fields: it must never appear inside a row key.
      assert.equal(key.includes("#"), false);
      assert.deepEqual(decodeRow(key), { tenant, agent, model });
    }),
    { numRuns: 500 },
  );
  // Any string, lone surrogates included (JSON allows them in a model name), encodes without throwing.
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), (model) => {
      const row = decodeRow(encodeRow({ tenant: "t", agent: "a", model }));
      assert.equal(row?.model, model.toWellFormed());
    }),
    { numRuns: 500 },
  );
});

Deno.test("a window's totals are the sum of the records inside it, whatever their timing", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({ at: fc.integer({ min: 0, max: 7_200_000 }), cost: fc.double({ min: 0, max: 1, noNaN: true }) }),
        {
          maxLength: 200,
        },
      ),
      fc.integer({ min: 60_000, max: 7_200_000 }),
      (records, windowMs) => {
        const ledger = new MemoryLedger({ bucketSeconds: 60, retentionHours: 8 });
        const t0 = Date.UTC(2026, 0, 1);
        const now = t0 + 7_200_000;
        for (const r of records) ledger.add(t0 + r.at, "row", { requests: 1, cost_usd: r.cost });
        const since = now - windowMs;
        // Whole buckets: a record counts when its minute overlaps the window.
        const bucketStart = (t: number) => t - (t % 60_000);
        const inside = records.filter((r) => bucketStart(t0 + r.at) + 60_000 > since);
        const totals = ledger.query(since, now).get("row");
        assert.equal(totals?.requests ?? 0, inside.length);
        const expected = inside.reduce((s, r) => s + r.cost, 0);
        assert.ok(Math.abs((totals?.cost_usd ?? 0) - expected) < 1e-9);
      },
    ),
    { numRuns: 200 },
  );
});
