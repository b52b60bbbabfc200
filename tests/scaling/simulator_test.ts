/**
 * The simulator: the manifests in k8s/ read as KEDA would (checked against the seed's numbers), KEDA's activation
 * and fallback (worked examples of the KEDA docs on fixture ScaledObjects), synthetic replays through the
 * production ScaledObject, and the CLI.
 */
import assert from "node:assert/strict";
import { loadManifests, parseManifests } from "../../src/scaling/manifests.ts";
import { scaledObjectSpec, type ScalerSpec, scalerSpecs } from "../../src/scaling/scaler_spec.ts";
import { simulate } from "../../src/scaling/simulator.ts";
import { syntheticTimeline, type Timeline } from "../../src/scaling/timeline.ts";
import { renderReport } from "../../src/scaling/report.ts";

const ROOT = new URL("../../", import.meta.url);
const PROD = new URL("k8s/overlays/prod", ROOT).pathname;
const DEV = new URL("k8s/overlays/dev", ROOT).pathname;
const HPA_ONLY = new URL("k8s/overlays/hpa-only", ROOT).pathname;

async function hasKubectl(): Promise<boolean> {
  try {
    return (await new Deno.Command("kubectl", { args: ["version", "--client"], stdout: "null", stderr: "null" })
      .output())
      .success;
  } catch {
    return false;
  }
}

async function orchestrator(dir: string, renderer: "builtin" | "binary" = "builtin"): Promise<ScalerSpec> {
  const specs = scalerSpecs(await loadManifests(dir, { renderer }));
  const spec = specs.find((s) => s.target.name === "amas-orchestrator");
  assert.ok(spec, `no autoscaler for amas-orchestrator in ${dir}`);
  return spec;
}

Deno.test("manifests: the prod ScaledObject carries the seed's triggers and behaviour", async () => {
  const s = await orchestrator(PROD);
  assert.equal(s.kind, "ScaledObject");
  assert.equal(s.name, "amas-orchestrator-scaler");
  assert.equal(s.minReplicas, 2);
  assert.equal(s.maxReplicas, 50);
  const t = Object.fromEntries(s.triggers.map((x) => [x.name, x]));
  assert.deepEqual([t["http-rps"].metric.targetType, t["http-rps"].metric.target, t["http-rps"].activation], [
    "AverageValue",
    15,
    5,
  ]);
  assert.deepEqual([t["queue-depth"].metric.target, t["queue-depth"].activation], [25, 10]);
  assert.deepEqual([t["p95-latency"].metric.targetType, t["p95-latency"].metric.target, t["p95-latency"].activation], [
    "Value",
    1,
    0.5,
  ]);
  assert.deepEqual([t.cpu.metric.targetType, t.cpu.metric.target], ["Utilization", 70]);
  assert.deepEqual([t.memory.metric.targetType, t.memory.metric.target], ["Utilization", 80]);
  assert.equal(s.behavior.scaleUp.stabilizationWindowSeconds, 60);
  assert.equal(s.behavior.scaleDown.stabilizationWindowSeconds, 300);
  assert.ok(s.requests.cpuCores! > 0 && s.requests.memoryBytes! > 0, "the Deployment's requests are read");
});

Deno.test("manifests: the built-in renderer agrees with kubectl kustomize on every overlay's autoscalers", async () => {
  if (!(await hasKubectl())) {
    console.log("kubectl is not installed: comparison skipped (the built-in renderer is still exercised)");
    return;
  }
  for (const dir of [PROD, DEV, HPA_ONLY]) {
    const builtin = scalerSpecs(await loadManifests(dir, { renderer: "builtin" }));
    const rendered = scalerSpecs(await loadManifests(dir, { renderer: "binary" }));
    assert.deepEqual(builtin, rendered, dir);
  }
  const dev = await orchestrator(DEV);
  assert.deepEqual([dev.minReplicas, dev.maxReplicas, dev.fallback?.replicas], [1, 5, 2]);
  const hpa = await orchestrator(HPA_ONLY);
  assert.equal(hpa.kind, "HorizontalPodAutoscaler");
  assert.deepEqual(hpa.triggers.map((t) => [t.name, t.metric.target]), [["cpu", 70], ["memory", 80]]);
});

const fixture = (extra: string) =>
  scaledObjectSpec(
    parseManifests(`
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: { name: fixture }
spec:
  scaleTargetRef: { name: app }
  pollingInterval: 30
  cooldownPeriod: 300
${extra}
`)[0],
  );

function constant(values: Record<string, number | null>, seconds: number, step = 15): Timeline {
  const samples = [];
  for (let t = 0; t <= seconds; t += step) samples.push({ t, values });
  return { version: 1, name: "constant", source: "synthetic", queries: {}, samples };
}

function concat(...parts: Timeline[]): Timeline {
  const samples = [];
  let offset = 0;
  for (const p of parts) {
    for (const s of p.samples) samples.push({ ...s, t: s.t + offset });
    offset = samples[samples.length - 1].t + 15;
  }
  return { version: 1, name: "concat", source: "synthetic", queries: {}, samples };
}

Deno.test("KEDA docs activation example: threshold 10, activation 50, value 40 → not active → scaled to zero", () => {
  const spec = fixture(`  minReplicaCount: 0
  maxReplicaCount: 10
  triggers:
    - type: prometheus
      name: load
      metadata: { query: "sum(x)", threshold: "10", activationThreshold: "50" }`);
  // Value 40: the HPA alone would want 4 replicas, but the scaler is inactive, so KEDA keeps it at zero.
  const idle = simulate(spec, constant({ load: 40 }, 1800), { initialReplicas: 0 });
  assert.equal(idle.peakReplicas, 0);
  assert.equal(idle.events.length, 0);
  // Value 60: active → KEDA activates 0 → 1 at a polling tick, then the HPA scales to ceil(60 / 10) = 6.
  const busy = simulate(spec, concat(constant({ load: 60 }, 900), constant({ load: 0 }, 1200)), {
    initialReplicas: 0,
  });
  assert.deepEqual(busy.events[0], {
    t: 0,
    from: 0,
    to: 1,
    direction: "up",
    by: "keda",
    reason: "a trigger became active",
  });
  assert.equal(busy.peakReplicas, 6);
  // Back to zero only after cooldownPeriod (300 s) without activity.
  const toZero = busy.events.find((e) => e.to === 0)!;
  assert.equal(toZero.by, "keda");
  // The last polling tick that saw it active is at 900 s (polling every 30 s).
  assert.ok(toZero.t >= 900 + 300, `scaled to zero at ${toZero.t}, before the cooldown ended`);
});

Deno.test("KEDA: with minReplicaCount > 0 activation never scales to zero", () => {
  const spec = fixture(`  minReplicaCount: 2
  maxReplicaCount: 10
  triggers:
    - type: prometheus
      name: load
      metadata: { query: "sum(x)", threshold: "10", activationThreshold: "50" }`);
  const r = simulate(spec, constant({ load: 0 }, 3600));
  assert.equal(Math.min(...r.points.map((p) => p.replicas)), 2);
});

Deno.test("KEDA fallback: after more than failureThreshold failed reads the failing trigger holds fallback.replicas", () => {
  const spec = fixture(`  minReplicaCount: 2
  maxReplicaCount: 20
  fallback: { failureThreshold: 3, replicas: 6 }
  advanced:
    horizontalPodAutoscalerConfig:
      behavior:
        scaleUp: { stabilizationWindowSeconds: 0 }
  triggers:
    - type: prometheus
      name: load
      metadata: { query: "sum(x)", threshold: "10" }`);
  const r = simulate(spec, concat(constant({ load: 20 }, 150), constant({ load: null }, 300)));
  const failStart = 165;
  const up = r.events.find((e) => e.to === 6);
  assert.ok(up, JSON.stringify(r.events));
  // Failures at 165, 180, 195 (3) hold; the 4th (210) exceeds the threshold: fallback.
  assert.equal(up.t, failStart + 3 * 15);
  // Without fallback the HPA just keeps the count (it never scales down blind).
  const noFallback = simulate(
    fixture(`  minReplicaCount: 2
  maxReplicaCount: 20
  triggers:
    - type: prometheus
      name: load
      metadata: { query: "sum(x)", threshold: "10" }`),
    concat(constant({ load: 20 }, 150), constant({ load: null }, 300)),
  );
  assert.equal(noFallback.points.at(-1)!.replicas, 2);
});

Deno.test("simulate: the synthetic spike through the prod ScaledObject scales up within the policies and back down after the window", async () => {
  const spec = await orchestrator(PROD);
  const r = simulate(spec, syntheticTimeline("spike", spec));
  assert.equal(r.points[0].replicas, 2);
  assert.ok(r.peakReplicas >= 15, `peak ${r.peakReplicas}`);
  // +100 % and +5 pods per 60 s, the stricter one: no 60-s window adds more than min(100 %, 5).
  for (const e of r.events.filter((e) => e.direction === "up")) {
    const before = r.events.filter((x) => x.direction === "up" && x.t > e.t - 60 && x.t <= e.t);
    const added = before.reduce((s, x) => s + x.to - x.from, 0);
    const start = e.to - added;
    assert.ok(added <= Math.min(start, 5), `added ${added} in 60 s from ${start} at ${e.t}`);
  }
  // −10 % and −2 pods per minute; the first removal comes at least 300 s after the last peak recommendation.
  const downs = r.events.filter((e) => e.direction === "down");
  assert.ok(downs.length > 0);
  for (const d of downs) assert.ok(d.from - d.to <= 2, `removed ${d.from - d.to} at ${d.t}`);
  const lastPeak = Math.max(...r.points.filter((p) => (p.recommendation ?? 0) >= r.peakReplicas).map((p) => p.t));
  assert.ok(downs[0].t - lastPeak >= 300, `scale-down ${downs[0].t - lastPeak} s after the last peak recommendation`);
  assert.equal(r.points.at(-1)!.replicas, 2, "back at the minimum by the end");
  assert.ok(r.overProvisioning!.reductionPercent > 0 && r.cost.savingPercent! > 0);
  assert.ok(r.replicaHours < r.staticReplicaHours!);
  assert.match(renderReport(r), /static peak provisioning/);
});

Deno.test("simulate: a steady load settles and does not flap (tolerance)", async () => {
  const spec = await orchestrator(PROD);
  const r = simulate(spec, syntheticTimeline("steady", spec));
  const settledAt = r.events.at(-1)!.t;
  assert.ok(settledAt < 600, `still scaling at ${settledAt} s`);
  assert.ok(r.events.every((e) => e.direction === "up"));
  assert.equal(r.points.at(-1)!.replicas, Math.ceil(100 / 15));
});

Deno.test("simulate: replica-hours integrate the replica count over time", () => {
  const spec = fixture(`  minReplicaCount: 3
  maxReplicaCount: 3
  triggers:
    - type: prometheus
      name: load
      metadata: { query: "sum(x)", threshold: "10" }`);
  const r = simulate(spec, constant({ load: 30 }, 3599, 1));
  assert.equal(r.replicaHours, 3);
  assert.equal(r.staticPeakReplicas, 3);
  assert.equal(r.overProvisioning!.autoscaled, 0);
});

Deno.test("cli: deno task scale simulate --synthetic spike prints the timeline, events and summary", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "task",
      "-q",
      "scale",
      "simulate",
      "--synthetic",
      "spike",
      "--manifests",
      "k8s/overlays/prod",
      "--rows",
      "10",
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(text, /ScaledObject amas-orchestrator-scaler → Deployment amas-orchestrator/);
  assert.match(text, /scale events: \d+ \(\d+ up, \d+ down\)/);
  assert.match(text, /over-provisioning .* % less/);
  const bad = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "scale", "simulate", "--synthetic", "nope"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(bad.code, 1);
  assert.match(
    new TextDecoder().decode(bad.stderr),
    /unknown synthetic timeline "nope"; use one of spike, diurnal, bursty, steady/,
  );
});
