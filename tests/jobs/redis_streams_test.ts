/** Pure parts of the Redis job layout: stream-id arithmetic and the trim point that never drops unfinished work. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { compareIds, nextId, parseAutoClaim, parseGroupInfo, trimPoint } from "../../src/jobs/redis_streams.ts";

Deno.test("stream ids: nextId is the immediate successor and compareIds orders numerically", () => {
  assert.equal(nextId("1700000000000-0"), "1700000000000-1");
  assert.equal(compareIds("9-0", "10-0"), -1, "numeric, not lexicographic");
  assert.equal(compareIds("10-2", "10-10"), -1);
  assert.equal(compareIds("10-2", "10-2"), 0);
});

Deno.test("trimPoint: never beyond the oldest pending entry nor past the last delivered one", () => {
  fc.assert(fc.property(
    fc.nat(1_000_000),
    fc.nat(5),
    fc.option(fc.tuple(fc.nat(1_000_000), fc.nat(5)), { nil: undefined }),
    (ms, seq, pending) => {
      const delivered = `${ms}-${seq}`;
      const oldest = pending ? `${pending[0]}-${pending[1]}` : undefined;
      const point = trimPoint(oldest, delivered);
      // MINID keeps entries >= point: the oldest pending one and every undelivered one survive.
      if (oldest) assert.ok(compareIds(point, oldest) <= 0);
      assert.ok(compareIds(point, nextId(delivered)) <= 0);
      assert.ok(compareIds(point, delivered) > 0 || (oldest !== undefined && compareIds(point, oldest) === 0));
    },
  ));
});

Deno.test("reply parsing: XAUTOCLAIM with deleted entries and XINFO GROUPS with a null lag", () => {
  const claimed = parseAutoClaim(["0-0", [["1-0", ["job", "job_a"]], null], ["2-0"]]);
  assert.deepEqual(claimed, { next: "0-0", entries: [{ entryId: "1-0", jobId: "job_a" }], deleted: ["2-0"] });
  const info = parseGroupInfo([
    ["name", "other", "consumers", 0, "pending", 9, "last-delivered-id", "5-0", "entries-read", 5, "lag", 0],
    [
      "name",
      "amas-workers",
      "consumers",
      2,
      "pending",
      3,
      "last-delivered-id",
      "7-0",
      "entries-read",
      null,
      "lag",
      null,
    ],
  ], "amas-workers");
  assert.deepEqual(info, { pending: 3, lag: null, lastDeliveredId: "7-0" });
  assert.equal(parseGroupInfo([], "amas-workers"), undefined);
});
