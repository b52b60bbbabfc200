import assert from "node:assert/strict";
import { intern, internEntry, MAX_INTERNED } from "../../src/store/intern.ts";
import { makeEntry } from "./fixtures.ts";

Deno.test("intern: values never change, the table stays bounded, long strings pass through", () => {
  const s = ["tenant", "a"].join("-");
  assert.equal(intern(s), "tenant-a");
  assert.equal(intern(undefined), undefined);
  const long = "x".repeat(500);
  assert.equal(intern(long), long);
  for (let i = 0; i < MAX_INTERNED + 10; i++) assert.equal(intern(`k${i}`), `k${i}`);
  assert.equal(intern(["tenant", "a"].join("-")), "tenant-a");
});

Deno.test("internEntry: the entry and its answer keep their values; a frozen answer is left alone", () => {
  const entry = makeEntry();
  const before = structuredClone(entry);
  assert.equal(internEntry(entry), entry);
  assert.deepEqual(entry, before);
  const frozen = makeEntry();
  Object.freeze(frozen.response);
  const copy = structuredClone(frozen);
  internEntry(frozen);
  assert.deepEqual(frozen, copy);
});
