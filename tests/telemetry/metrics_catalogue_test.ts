/**
 * docs/METRICS.md lists every metric the code creates, under the name Prometheus shows (`_total` for counters).
 * A new instrument without a catalogue entry fails here: add a row to docs/METRICS.md.
 */
import assert from "node:assert/strict";
import { scanInstruments } from "./metric_catalogue.ts";

Deno.test("metrics catalogue: docs/METRICS.md names every metric created in src/", async () => {
  const doc = await Deno.readTextFile(new URL("../../docs/METRICS.md", import.meta.url));
  const instruments = await scanInstruments();
  assert.ok(instruments.length >= 20, `expected the gateway's instruments, found ${instruments.length}`);
  const missing = instruments
    .map((i) => (i.type === "counter" ? `${i.name}_total` : i.name))
    .filter((name) => !doc.includes(`\`${name}\``));
  assert.deepEqual(missing, [], "metrics missing from docs/METRICS.md (add a row with type, labels, unit, use)");
});
