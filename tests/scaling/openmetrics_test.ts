/** The simulator's offline scaling metrics: valid OpenMetrics that promtool loads into a TSDB. */
import assert from "node:assert/strict";
import { loadManifests } from "../../src/scaling/manifests.ts";
import { scalerSpecs } from "../../src/scaling/scaler_spec.ts";
import { simulate } from "../../src/scaling/simulator.ts";
import { syntheticTimeline } from "../../src/scaling/timeline.ts";
import { toOpenMetrics } from "../../src/scaling/openmetrics.ts";

Deno.test("openmetrics: the spike's replicas, events and durations, accepted by promtool create-blocks-from", async () => {
  const specs = scalerSpecs(await loadManifests(new URL("../../k8s/overlays/prod", import.meta.url).pathname));
  const spec = specs.find((s) => s.name === "amas-orchestrator-scaler")!;
  const result = simulate(spec, syntheticTimeline("spike", spec));
  const text = toOpenMetrics(result, { start: new Date("2026-01-01T00:00:00Z") });
  const ups = result.events.filter((e) => e.direction === "up").length;
  const t0 = Date.parse("2026-01-01T00:00:00Z") / 1000;
  const end = t0 + result.points.at(-1)!.t;
  assert.match(text, new RegExp(`amas_scaling_events_total\\{[^}]*direction="up"\\} ${ups} ${end}\\n`));
  assert.match(text, new RegExp(`amas_desired_replicas\\{[^}]*\\} 2 ${t0}\\n`));
  assert.match(text, /amas_scaling_duration_seconds_bucket\{[^}]*direction="up",le="30"\} \d+/);
  assert.ok(text.endsWith("# EOF\n"));

  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/sim.om`, text);
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command("promtool", {
        args: ["tsdb", "create-blocks-from", "openmetrics", `${dir}/sim.om`, `${dir}/tsdb`],
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        console.log("promtool is not installed: the TSDB import is not checked");
        return;
      }
      throw err;
    }
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    assert.match(new TextDecoder().decode(out.stdout), /NUM SERIES/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
