/**
 * The HPA algorithm against the worked examples of the Kubernetes HPA documentation ("Algorithm details",
 * "Configurable scaling behavior") and the KEDA documentation (AverageValue targets, activation, fallback).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  DEFAULT_SCALE_DOWN,
  DEFAULT_SCALE_UP,
  HpaController,
  type HpaMetric,
  replicasForMetric,
  resolveBehavior,
  type ScalingRules,
} from "../../src/scaling/hpa.ts";

const value = (target: number): HpaMetric => ({ name: "m", targetType: "Value", target });
const average = (target: number): HpaMetric => ({ name: "m", targetType: "AverageValue", target });

Deno.test("HPA docs: desired = ceil(current × current/desired metric): 200m vs 100m doubles, 50m halves", () => {
  assert.equal(replicasForMetric(value(100), 200, 4), 8);
  assert.equal(replicasForMetric(value(100), 50, 4), 2);
  assert.equal(replicasForMetric({ name: "cpu", targetType: "Utilization", target: 50 }, 100, 3), 6);
  // ceil, not round: 1.2 × 5 = 6 exactly, 1.21 × 5 = 6.05 → 7
  assert.equal(replicasForMetric(value(100), 121, 5), 7);
});

Deno.test("HPA docs: within the 0.1 tolerance nothing changes; just outside it does", () => {
  assert.equal(replicasForMetric(value(100), 109, 10), 10);
  assert.equal(replicasForMetric(value(100), 91, 10), 10);
  assert.equal(replicasForMetric(value(100), 111, 10), 12);
  assert.equal(replicasForMetric(value(100), 89, 10), 9);
  // Per-direction tolerances (autoscaling/v2 `tolerance`, Kubernetes 1.33+): 5 % down, 1 % up.
  assert.equal(replicasForMetric(value(100), 102, 10, { up: 0.01, down: 0.05 }), 11);
  assert.equal(replicasForMetric(value(100), 96, 10, { up: 0.01, down: 0.05 }), 10);
});

Deno.test("KEDA docs: an AverageValue target is per replica: a total of 100 at threshold 15 asks for 7", () => {
  assert.equal(replicasForMetric(average(15), 100, 2), 7);
  // Within tolerance of 15 per pod at the current count: no change.
  assert.equal(replicasForMetric(average(15), 31, 2), 2);
});

Deno.test("property: a proposal moves toward the target and never the wrong way", () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 500 }), fc.double({ min: 0, max: 1e4, noNaN: true }), (n, v) => {
    const p = replicasForMetric(value(100), v, n);
    if (v > 100 * 1.1) assert.ok(p > n || p === n);
    if (v < 100 * 0.9) assert.ok(p <= n);
    if (v >= 90 && v <= 110) assert.equal(p, n);
  }));
});

function controller(
  rules: { up?: Partial<ScalingRules>; down?: Partial<ScalingRules> },
  min = 1,
  max = 100,
  metrics: HpaMetric[] = [value(100)],
) {
  return new HpaController({
    minReplicas: min,
    maxReplicas: max,
    metrics,
    behavior: resolveBehavior({ scaleUp: rules.up, scaleDown: rules.down }),
  });
}

Deno.test("HPA docs scaling-policy example: 80 → 10 with Pods 4/60s and Percent 10/60s (Max) removes 8, 8, … then 4 below 40", () => {
  const hpa = controller({
    down: {
      stabilizationWindowSeconds: 0,
      policies: [{ type: "Pods", value: 4, periodSeconds: 60 }, { type: "Percent", value: 10, periodSeconds: 60 }],
    },
  });
  let replicas = 80;
  const seen = [replicas];
  // One sync per minute so each policy period starts afresh; the metric asks for 10 replicas.
  for (let minute = 1; replicas > 10 && minute < 50; minute++) {
    replicas = hpa.sync(minute * 60, replicas, [100 * 10 / replicas]).replicas;
    seen.push(replicas);
  }
  assert.deepEqual(seen.slice(0, 3), [80, 72, 64], "10 % of 80 is 8; 10 % of 72 is 7.2, rounded up to 8");
  const below40 = seen.findIndex((r) => r <= 40);
  for (let i = below40; i < seen.length - 1; i++) {
    const step = seen[i] - seen[i + 1];
    assert.ok(
      step === 4 || seen[i + 1] === 10,
      `below 40 replicas the Pods policy removes 4 (${seen[i]} → ${seen[i + 1]})`,
    );
  }
  assert.equal(seen.at(-1), 10);
});

Deno.test("HPA docs: selectPolicy Disabled turns a direction off", () => {
  const hpa = controller({ down: { selectPolicy: "Disabled", stabilizationWindowSeconds: 0 } });
  assert.equal(hpa.sync(0, 10, [10]).replicas, 10);
  assert.equal(hpa.sync(15, 10, [1000]).replicas, 20, "scaling up still works");
});

Deno.test("HPA docs default behaviour: scale up by 100 % or 4 pods per 15 s, whichever is more", () => {
  const hpa = controller({});
  const defaults = resolveBehavior(undefined);
  assert.deepEqual(defaults.scaleUp.policies, DEFAULT_SCALE_UP.policies);
  assert.equal(defaults.scaleUp.stabilizationWindowSeconds, 0);
  assert.deepEqual(defaults.scaleDown.policies, DEFAULT_SCALE_DOWN.policies);
  assert.equal(defaults.scaleDown.stabilizationWindowSeconds, 300);
  assert.equal(hpa.sync(0, 1, [10_000]).replicas, 5, "1 → max(2, 1 + 4)");
  const hpa2 = controller({});
  assert.equal(hpa2.sync(0, 10, [10_000]).replicas, 20, "10 → max(20, 14)");
  // Within the same 15 s period, the changes already made count against the limit.
  assert.equal(hpa2.sync(5, 20, [10_000]).replicas, 20);
  assert.equal(hpa2.sync(16, 20, [10_000]).replicas, 40);
});

Deno.test("HPA docs: the scale-down stabilisation window uses the highest recommendation of the window", () => {
  const hpa = controller({
    down: { stabilizationWindowSeconds: 300, policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] },
  });
  // A new HPA starts with the current count in its history: no scale-down within the first window.
  assert.equal(hpa.sync(0, 10, [50]).replicas, 10);
  assert.equal(hpa.sync(150, 10, [50]).replicas, 10);
  // 300 s after creation, the window holds only recommendations of 5.
  assert.equal(hpa.sync(301, 10, [50]).replicas, 5);
  // A short burst is remembered for the window: 8 is the highest of the last 300 s, so no drop below 8.
  const h2 = controller({
    down: { stabilizationWindowSeconds: 300, policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] },
  });
  h2.sync(0, 10, [100]);
  h2.sync(301, 10, [80]); // recommends 8
  assert.equal(h2.sync(316, 8, [20]).replicas, 8, "8 still in the window");
  assert.equal(h2.sync(602, 8, [20]).replicas, 2, "after 300 s without it");
});

Deno.test("HPA docs: the scale-up stabilisation window uses the lowest recommendation (a sustained high is needed)", () => {
  const hpa = controller({ up: { stabilizationWindowSeconds: 60 }, down: { stabilizationWindowSeconds: 0 } });
  assert.equal(hpa.sync(0, 2, [100]).replicas, 2);
  assert.equal(hpa.sync(15, 2, [500]).replicas, 2, "lowest of the last 60 s is still 2");
  assert.equal(hpa.sync(30, 2, [500]).replicas, 2);
  assert.equal(hpa.sync(45, 2, [500]).replicas, 2);
  assert.equal(hpa.sync(61, 2, [500]).replicas, 6, "60 s of 10: scale up, by the default policy max(+100 %, +4 pods)");
});

Deno.test("HPA: max over metrics; an unreadable metric blocks scale-down but not scale-up; limits apply", () => {
  const hpa = controller({ down: { stabilizationWindowSeconds: 0 } }, 2, 10, [value(100), average(10)]);
  assert.equal(hpa.sync(0, 4, [100, 80]).replicas, 8, "the AverageValue metric asks for 8, the other for 4");
  assert.equal(hpa.sync(15, 8, [10, undefined]).replicas, 8, "would scale down, but a metric is missing");
  assert.equal(hpa.sync(30, 8, [400, undefined]).replicas, 10, "scale up despite a missing metric, capped at max");
  assert.equal(hpa.sync(45, 10, [undefined, undefined]).replicas, 10, "nothing readable: no change");
  assert.equal(hpa.sync(60, 10, [1, 1]).replicas, 2, "floor at minReplicas");
  assert.equal(hpa.sync(75, 1, [1, 1]).replicas, 2, "below the minimum: raised to it");
  assert.equal(hpa.sync(90, 0, [1000, 1000]).replicas, 0, "at 0 replicas the HPA is disabled (KEDA activates)");
});

Deno.test("HPA: selectPolicy Min takes the stricter policy (seed: +100 % but at most 5 pods per minute)", () => {
  const hpa = controller(
    {
      up: {
        stabilizationWindowSeconds: 0,
        selectPolicy: "Min",
        policies: [{ type: "Percent", value: 100, periodSeconds: 60 }, { type: "Pods", value: 5, periodSeconds: 60 }],
      },
    },
    2,
    50,
  );
  const seen = [2];
  for (let m = 1; m <= 5; m++) seen.push(hpa.sync(m * 60, seen.at(-1)!, [100 * 50]).replicas);
  assert.deepEqual(seen, [2, 4, 8, 13, 18, 23]);
});
