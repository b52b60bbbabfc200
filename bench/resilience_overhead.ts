/**
 * The added cost of the resilience stack per request, beside the bare provider call measured in the same run,
 * as CPU time of the process (user + system) and wall time per request over many sequential requests. CPU time
 * stays meaningful on a shared, loaded machine where wall time mostly measures the wait for a core.
 *
 *     deno run -A bench/resilience_overhead.ts [requests per variant, default 50000]
 *
 * @module
 */
import process from "node:process";
import { variants } from "./resilience_stack.ts";

const n = Number(Deno.args[0] ?? 50_000);
const rows: { name: string; cpuUs: number; wallUs: number }[] = [];
for (const v of variants()) {
  for (let i = 0; i < 5_000; i++) await v.run(); // warm-up: JIT and first-use allocations
  // Three rounds, keeping the cheapest: a neighbour's burst of load inflates a round, never deflates it.
  let best = { cpuUs: Infinity, wallUs: Infinity };
  for (let round = 0; round < 3; round++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await v.run();
    const wallUs = ((performance.now() - t0) * 1000) / n;
    const c = process.cpuUsage(c0);
    const cpuUs = (c.user + c.system) / n;
    if (cpuUs < best.cpuUs) best = { cpuUs, wallUs };
  }
  rows.push({ name: v.name, ...best });
}
const base = rows[0];
console.log(`${n} sequential requests per variant, best of 3 rounds; load average ${Deno.loadavg()[0].toFixed(1)}`);
console.log("variant".padEnd(56) + "cpu µs/req".padStart(12) + "added".padStart(10) + "wall µs/req".padStart(13));
for (const r of rows) {
  const added = r === base ? "baseline" : `+${(r.cpuUs - base.cpuUs).toFixed(1)}`;
  console.log(
    r.name.padEnd(56) + r.cpuUs.toFixed(1).padStart(12) + added.padStart(10) + r.wallUs.toFixed(1).padStart(13),
  );
}
const whole = rows[rows.length - 1];
console.log(
  `whole stack adds ${(whole.cpuUs - base.cpuUs).toFixed(1)} µs CPU per request (target ≤ 50 µs): ${
    whole.cpuUs - base.cpuUs <= 50 ? "within" : "over"
  } target`,
);
