/**
 * The cluster scaling metrics. No Kubernetes cluster is available to the test suite: the client is tested on
 * API-shaped documents (the parsing), and the watcher's bookkeeping on a sequence of such documents; the HTTP
 * calls themselves run only in a cluster.
 */
import assert from "node:assert/strict";
import { parseDeployment, parseHpa, quantity, readyPodNames } from "../../src/scaling/k8s_client.ts";
import { type ScalingSource, ScalingWatcher } from "../../src/scaling/metrics.ts";
import { Telemetry } from "../../src/telemetry/telemetry.ts";
import { loadConfig } from "../../src/config.ts";
import { startScalingMetrics } from "../../src/scaling/mod.ts";
import { Logger } from "../../src/log.ts";

const deployment = (spec: number, ready: number, generation = 1, observed = 1) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "amas-orchestrator", namespace: "amas-prod", generation },
  spec: { replicas: spec, selector: { matchLabels: { "app.kubernetes.io/name": "amas-orchestrator" } } },
  status: { observedGeneration: observed, replicas: spec, readyReplicas: ready, updatedReplicas: spec },
});

const kedaHpa = {
  apiVersion: "autoscaling/v2",
  kind: "HorizontalPodAutoscaler",
  metadata: { name: "keda-hpa-amas-orchestrator-scaler" },
  spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "amas-orchestrator" } },
  status: {
    currentReplicas: 4,
    desiredReplicas: 6,
    lastScaleTime: "2026-01-01T00:00:00Z",
    currentMetrics: [
      {
        type: "External",
        external: { metric: { name: "s0-http-rps", selector: {} }, current: { averageValue: "21500m" } },
      },
      { type: "External", external: { metric: { name: "s2-p95-latency" }, current: { value: "350m" } } },
      { type: "Resource", resource: { name: "cpu", current: { averageUtilization: 64, averageValue: "320m" } } },
    ],
  },
};

Deno.test("k8s client parsing: Deployment, KEDA's HPA status and ready pods", () => {
  assert.equal(quantity("21500m"), 21.5);
  assert.equal(quantity("2k"), 2000);
  assert.equal(quantity(3), 3);
  assert.ok(Number.isNaN(quantity("lots")));
  assert.deepEqual(parseDeployment(deployment(4, 3)), {
    name: "amas-orchestrator",
    specReplicas: 4,
    readyReplicas: 3,
    updatedReplicas: 4,
    observed: true,
    selector: "app.kubernetes.io/name=amas-orchestrator",
  });
  assert.equal(parseDeployment({ metadata: { name: "x" }, spec: {} }).readyReplicas, 0);
  assert.throws(() => parseDeployment({ kind: "Status" }), /not a Deployment/);
  const hpa = parseHpa(kedaHpa);
  assert.equal(hpa.target, "amas-orchestrator");
  assert.deepEqual([hpa.currentReplicas, hpa.desiredReplicas], [4, 6]);
  assert.deepEqual(hpa.metrics, { "s0-http-rps": 21.5, "s2-p95-latency": 0.35, cpu: 64 });
  const pods = {
    items: [
      { metadata: { name: "b" }, status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } },
      { metadata: { name: "a" }, status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } },
      {
        metadata: { name: "0-starting" },
        status: { phase: "Running", conditions: [{ type: "Ready", status: "False" }] },
      },
      {
        metadata: { name: "0-terminating", deletionTimestamp: "2026-01-01T00:00:00Z" },
        status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
      },
    ],
  };
  assert.deepEqual(readyPodNames(pods), ["a", "b"]);
});

class Script implements ScalingSource {
  steps: { d: unknown; pods: string[] }[];
  i = 0;
  constructor(steps: { d: unknown; pods: string[] }[]) {
    this.steps = steps;
  }
  deployment() {
    return Promise.resolve(parseDeployment(this.steps[this.i].d));
  }
  hpaFor() {
    return Promise.resolve(parseHpa(kedaHpa));
  }
  readyPods() {
    return Promise.resolve(this.steps[this.i].pods);
  }
}

Deno.test("scaling watcher: events, scale-up duration until ready, requests per replica; only the first pod exports", async () => {
  const steps = [
    { d: deployment(2, 2), pods: ["pod-a", "pod-b"] },
    { d: deployment(4, 2, 2, 2), pods: ["pod-a", "pod-b"] }, // scaled up: 2 → 4, not ready yet
    { d: deployment(4, 3, 2, 2), pods: ["pod-a", "pod-b", "pod-c"] },
    { d: deployment(4, 4, 2, 2), pods: ["pod-a", "pod-b", "pod-c", "pod-d"] }, // ready 30 s after the change
    { d: deployment(3, 3, 3, 3), pods: ["pod-a", "pod-b", "pod-c"] }, // scaled down
  ];
  const exported = async (podName: string) => {
    const telemetry = new Telemetry({ serviceName: "t" });
    const source = new Script(steps);
    let now = 0;
    const watcher = new ScalingWatcher(source, telemetry, {
      deployments: ["amas-orchestrator"],
      self: "amas-orchestrator",
      podName,
      rpsMetric: "http-rps",
      now: () => now,
    });
    for (let i = 0; i < steps.length; i++) {
      source.i = i;
      now = i * 15_000;
      await watcher.poll();
    }
    const text = await telemetry.prometheusText();
    await telemetry.shutdown();
    return text;
  };
  const leader = await exported("pod-a");
  assert.match(leader, /amas_scaling_events_total\{deployment="amas-orchestrator",direction="up"\} 1/);
  assert.match(leader, /amas_scaling_events_total\{deployment="amas-orchestrator",direction="down"\} 1/);
  assert.match(leader, /amas_current_replicas\{deployment="amas-orchestrator"\} 3/);
  assert.match(leader, /amas_desired_replicas\{deployment="amas-orchestrator"\} 3/);
  assert.match(leader, /amas_scaling_effectiveness\{deployment="amas-orchestrator"\} 21.5/);
  assert.match(leader, /amas_scaling_duration_seconds_sum\{deployment="amas-orchestrator",direction="up"\} 30/);
  assert.match(leader, /amas_scaling_duration_seconds_sum\{deployment="amas-orchestrator",direction="down"\} 0/);
  const follower = await exported("pod-b");
  assert.doesNotMatch(follower, /amas_current_replicas\{/);
  assert.doesNotMatch(follower, /amas_scaling_events_total\{/);
});

Deno.test("scaling metrics: not started outside a cluster; KUBERNETES_SERVICE_HOST and the downward API reach the config", async () => {
  const outside = loadConfig({ env: {} });
  assert.equal(outside.scaling.kubernetesHost, undefined);
  const telemetry = new Telemetry({ serviceName: "t" });
  assert.equal(await startScalingMetrics(outside.scaling, { telemetry, logger: new Logger("error") }), undefined);
  const inside = loadConfig({
    env: {
      KUBERNETES_SERVICE_HOST: "10.0.0.1",
      KUBERNETES_SERVICE_PORT: "6443",
      POD_NAME: "amas-orchestrator-abc",
      POD_NAMESPACE: "amas-prod",
      AMAS_SCALING_DEPLOYMENTS: "amas-orchestrator, amas-worker-general",
    },
  });
  assert.deepEqual(
    [inside.scaling.kubernetesHost, inside.scaling.kubernetesPort, inside.scaling.podName, inside.scaling.namespace],
    ["10.0.0.1", 6443, "amas-orchestrator-abc", "amas-prod"],
  );
  assert.deepEqual(inside.scaling.deployments, ["amas-orchestrator", "amas-worker-general"]);
  // Here there is no service-account secret: the gateway keeps running without these metrics.
  assert.equal(await startScalingMetrics(inside.scaling, { telemetry, logger: new Logger("error") }), undefined);
  await telemetry.shutdown();
});
