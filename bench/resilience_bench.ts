/**
 * The added cost of the resilience stack on the happy path, beside the bare provider call (baseline), as
 * Deno.bench wall time. Target: ≤ 50 µs per request for the whole stack. On a loaded machine wall time counts
 * the waits for a core too; `deno run -A bench/resilience_overhead.ts` measures CPU time per request instead.
 *
 *     deno bench -A bench/resilience_bench.ts
 *
 * @module
 */
import { variants } from "./resilience_stack.ts";

for (const [i, v] of variants().entries()) {
  Deno.bench(v.name, { group: "resilience", baseline: i === 0 }, async () => {
    await v.run();
  });
}
