/**
 * The seed's criterion "100 concurrent users → the system scales up automatically", end to end with real parts:
 * a running gateway (in-process, simulated provider) under 100 concurrent users, a real Prometheus scraping it
 * with the labels the manifests' queries select (namespace amas-prod, job amas-orchestrator), the trigger queries
 * of k8s/overlays/prod recorded from that Prometheus (`deno task scale record`'s code), and the simulator with the
 * ScaledObject's own settings. Then quiet traffic, and the replicas come back down after the stabilisation window.
 *
 * Time: the load phase lasts LOAD_S real seconds (each user one request every 2 s: 50 RPS offered, which even
 * this shared 2-core machine serves without queueing, so latency stays low) and fills the RPS query's 1-minute
 * window; the quiet phase lasts QUIET_S, after which at most a quarter of that window still holds load, less than
 * two pods' worth. The recording is replayed with a time scale of TIME_SCALE (one recorded second = TIME_SCALE
 * simulated seconds: the 1-minute burst becomes a 12-minute spike, long enough for the 60-s scale-up stabilisation), and the last (quiet) sample is held for HOLD_S simulated seconds, so the 300-s
 * scale-down window and the −10 %/min policy can play out. docs/SCALING_SIMULATOR.md explains this.
 */
import assert from "node:assert/strict";
import { startGateway } from "../support/gateway.ts";
import { TestPrometheus } from "../support/prometheus.ts";
import { loadManifests } from "../../src/scaling/manifests.ts";
import { scalerSpecs } from "../../src/scaling/scaler_spec.ts";
import { recordTimeline } from "../../src/scaling/record.ts";
import { readTimeline } from "../../src/scaling/timeline.ts";
import { simulate } from "../../src/scaling/simulator.ts";
import { renderReport } from "../../src/scaling/report.ts";

const USERS = 100;
const LOAD_S = 60;
const QUIET_S = 45;
const TIME_SCALE = 12;
const HOLD_S = 45 * 60;

/**
 * Virtual users: each sends a request, waits for the answer, and sends the next one `periodMs` after the previous
 * one started (at once when the answer took longer): 100 users at 1 s offer 100 RPS.
 */
async function users(
  url: string,
  n: number,
  seconds: number,
  periodMs: number,
): Promise<{ ok: number; other: number }> {
  const until = Date.now() + seconds * 1000;
  const counts = { ok: 0, other: 0 };
  await Promise.all(Array.from({ length: n }, async (_, user) => {
    // Spread the first requests over one period, as real users do not start in lockstep.
    await new Promise((r) => setTimeout(r, (periodMs * user) / n));
    let i = 0;
    while (Date.now() < until) {
      const started = Date.now();
      try {
        const res = await fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-amas-agent": `user-${user}` },
          body: JSON.stringify({
            model: "sim-small",
            messages: [{ role: "user", content: `user ${user} asks question ${i++} about scaling` }],
          }),
          signal: AbortSignal.timeout(15_000),
        });
        await res.body?.cancel();
        if (res.ok) counts.ok++;
        else counts.other++;
      } catch {
        counts.other++;
      }
      await new Promise((r) => setTimeout(r, Math.max(0, periodMs - (Date.now() - started))));
    }
  }));
  return counts;
}

Deno.test({
  name: "e2e (Prometheus): 100 concurrent users scale the gateway up from 2; quiet traffic brings it back down",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  // The semantic cache is off: on this shared 2-core machine its embedder, not the gateway, would bound the
  // throughput, and its latency would then drive the P95 trigger, whose 2-minute window outlasts the quiet phase.
  await using gw = await startGateway({ env: { AMAS_CACHE_ENABLED: "false" } });
  await using prom = await TestPrometheus.start({
    targets: [new URL(gw.url).host],
    job: "amas-orchestrator",
    labels: { namespace: "amas-prod" },
    interval: "1s",
  });
  await prom.waitForTargetsUp();
  const specs = scalerSpecs(await loadManifests(new URL("../../k8s/overlays/prod", import.meta.url).pathname));
  const spec = specs.find((s) => s.name === "amas-orchestrator-scaler");
  assert.ok(spec, "the prod overlay has the gateway's ScaledObject");

  const start = new Date();
  const load = await users(gw.url, USERS, LOAD_S, 2000);
  const loadEnd = new Date();
  const quiet = await users(gw.url, 1, QUIET_S, 2000);
  await new Promise((r) => setTimeout(r, 1100)); // one more scrape of the quiet end
  const end = new Date();
  assert.ok(load.ok > USERS, `the load phase answered ${load.ok} requests`);
  assert.ok(quiet.ok > 0);

  const recorded = await recordTimeline(spec, { prometheus: prom.url, start, end, stepSeconds: 1, name: "e2e" });
  const dir = await Deno.makeTempDir();
  try {
    // Through a file, as `deno task scale record --out` and `simulate --timeline` would.
    await Deno.writeTextFile(`${dir}/timeline.json`, JSON.stringify(recorded));
    const timeline = await readTimeline(`${dir}/timeline.json`);
    const rps = timeline.samples.map((s) => s.values["http-rps"]);
    const loadSamples = timeline.samples.filter((s) => s.t <= (loadEnd.getTime() - start.getTime()) / 1000);
    const peakRps = Math.max(...loadSamples.map((s) => s.values["http-rps"] ?? 0));
    const finalRps = rps.at(-1)!;
    assert.ok(peakRps > 2 * 15 * 1.1, `the recorded request rate (${peakRps.toFixed(1)} RPS) exceeds 2 pods × 15 RPS`);
    assert.ok(
      finalRps !== null && finalRps < 2 * 15 * 0.9,
      `the quiet phase ends quiet enough for 2 pods (${finalRps} RPS)`,
    );
    for (const name of ["queue-depth", "p95-latency"]) {
      assert.ok(timeline.samples.every((s) => s.values[name] !== null && Number.isFinite(s.values[name])), name);
    }

    const result = simulate(spec, timeline, { timeScale: TIME_SCALE, holdLastSeconds: HOLD_S });
    console.log(renderReport(result, { rows: 30 }));
    assert.equal(result.points[0].replicas, 2, "starts at minReplicaCount");
    assert.deepEqual(
      result.ignoredTriggers,
      ["cpu", "memory"],
      "resource triggers come from metrics-server, not Prometheus",
    );
    const firstUp = result.events.find((e) => e.direction === "up");
    assert.ok(firstUp && firstUp.from === 2, "scaled up from 2 replicas");
    assert.ok(firstUp.t >= spec.behavior.scaleUp.stabilizationWindowSeconds, "not before the scale-up window");
    assert.ok(result.peakReplicas > 2);
    const downs = result.events.filter((e) => e.direction === "down");
    assert.ok(downs.length > 0, "quiet traffic brings the replicas down");
    const lastHigh = Math.max(
      ...result.points.filter((p) => (p.recommendation ?? 0) >= result.peakReplicas).map((p) => p.t),
    );
    assert.ok(
      downs[0].t - lastHigh >= spec.behavior.scaleDown.stabilizationWindowSeconds,
      `first scale-down ${downs[0].t - lastHigh} s after the last peak recommendation`,
    );
    assert.equal(result.points.at(-1)!.replicas, 2, "back at minReplicaCount after the quiet phase");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
