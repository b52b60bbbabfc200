/**
 * Every overlay of k8s/, rendered, validates against the Kubernetes, KEDA and Prometheus Operator schemas and
 * passes our semantic checks: selectors match pods, probes and ports point at what the app serves, triggers carry
 * queries over real metrics and the seed's numbers, hpa-only has no ScaledObject, the grace period covers the drain.
 */
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { join } from "node:path";
import {
  K8S_DIR,
  type K8sObject,
  OVERLAYS,
  podSpecOf,
  renderKustomization,
  renderOverlay,
  renderWithKubectl,
} from "./kustomize.ts";
import { extractPromql, find, ofKind, selects, validateObject } from "./manifests.ts";
import { unknownFields } from "./unknown_fields.ts";
import { exposedNames, metricNamesIn, scanInstruments } from "../telemetry/metric_catalogue.ts";
import { allStreams, jobsConfigSchema } from "../../src/jobs/config.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const rendered = new Map<string, K8sObject[]>();
for (const o of OVERLAYS) rendered.set(o, await renderOverlay(o));
const base = await renderKustomization(join(K8S_DIR, "base"));

const kubectlAvailable = await new Deno.Command("kubectl", {
  args: ["version", "--client"],
  stdout: "null",
  stderr: "null",
})
  .output().then((o) => o.success, () => false);

/** The Secret prod and hpa-only leave to the operator (docs/KUBERNETES.md); dev ships a placeholder template. */
const EXTERNAL_SECRET = "amas-secrets";

function containersOf(o: K8sObject): Any[] {
  return (podSpecOf(o)?.containers ?? []) as Any[];
}

function workloads(objects: K8sObject[]): K8sObject[] {
  return objects.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet");
}

function envOf(objects: K8sObject[], container: Any): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, find(objects, "ConfigMap", from.configMapRef.name).data);
    if (from.secretRef) {
      const secret = objects.find((o) => o.kind === "Secret" && o.metadata.name === from.secretRef.name) as Any;
      // prod and hpa-only expect the Secret to be created out of band; only its name is checked there.
      if (secret) Object.assign(env, secret.stringData);
      else assert.equal(from.secretRef.name, EXTERNAL_SECRET, `Secret ${from.secretRef.name} is missing`);
    }
  }
  for (const e of container.env ?? []) if (typeof e.value === "string") env[e.name] = e.value;
  return env;
}

for (const overlay of OVERLAYS) {
  const objects = () => rendered.get(overlay)!;

  Deno.test(
    `k8s ${overlay}: this renderer's output equals kubectl kustomize`,
    { ignore: !kubectlAvailable },
    async () => {
      const theirs = (await renderWithKubectl(join(K8S_DIR, "overlays", overlay)))!;
      const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
      const mine = new Map(objects().map((o) => [key(o), o]));
      assert.deepEqual([...mine.keys()].sort(), theirs.map(key).sort());
      for (const o of theirs) assert.ok(isDeepStrictEqual(mine.get(key(o)), o), `${key(o)} differs from kubectl's`);
    },
  );

  Deno.test(`k8s ${overlay}: the Secret template ships in dev only`, () => {
    const secrets = ofKind(objects(), "Secret").map((s) => s.metadata.name);
    // Applying prod must never overwrite the real keys with placeholders.
    assert.deepEqual(secrets, overlay === "dev" ? [EXTERNAL_SECRET] : []);
  });

  Deno.test(`k8s ${overlay}: every object validates against its schema`, () => {
    for (const o of objects()) validateObject(o);
    // The schema validators accept unknown fields; the models' declarations do not (a typo would be dropped).
    const unknown = objects().filter((o) => o.kind !== "VerticalPodAutoscaler")
      .flatMap((o) => unknownFields(o.apiVersion, o.kind, o).map((f) => `${o.kind}/${o.metadata.name}: ${f}`));
    assert.deepEqual(unknown, [], "fields the API would not know");
    const ns = overlay === "dev" ? "amas-dev" : "amas-prod";
    for (const o of objects()) {
      if (o.kind === "Namespace") assert.equal(o.metadata.name, ns);
      else assert.equal(o.metadata.namespace, ns, `${o.kind}/${o.metadata.name} namespace`);
    }
  });

  Deno.test(`k8s ${overlay}: selectors, services, monitors and policies select real pods and ports`, () => {
    const objs = objects();
    const pods = workloads(objs).map((w) => ({
      name: w.metadata.name,
      labels: (w.spec as Any).template.metadata.labels as Record<string, string>,
      ports: new Set<string>(containersOf(w).flatMap((c) => (c.ports ?? []).map((p: Any) => p.name))),
    }));
    for (const w of workloads(objs)) {
      const spec = w.spec as Any;
      assert.ok(selects(spec.selector.matchLabels, spec.template.metadata.labels), `${w.metadata.name} selector`);
      assert.ok(
        !("replicas" in spec) || overlay === "hpa-only" || w.kind === "StatefulSet",
        `${w.metadata.name}: the autoscaler owns replicas; a replicas field would reset it on apply`,
      );
    }
    for (const svc of ofKind(objs, "Service")) {
      const spec = svc.spec as Any;
      const backing = pods.filter((p) => selects(spec.selector, p.labels));
      assert.equal(backing.length, 1, `Service ${svc.metadata.name} selects exactly one workload`);
      for (const port of spec.ports) {
        assert.ok(backing[0].ports.has(port.targetPort), `Service ${svc.metadata.name} targetPort ${port.targetPort}`);
      }
    }
    for (const sm of ofKind(objs, "ServiceMonitor")) {
      const spec = sm.spec as Any;
      const svcs = ofKind(objs, "Service").filter((s) => selects(spec.selector.matchLabels, s.metadata.labels));
      assert.equal(svcs.length, 1, `ServiceMonitor ${sm.metadata.name} selects one Service`);
      for (const ep of spec.endpoints) {
        assert.ok((svcs[0].spec as Any).ports.some((p: Any) => p.name === ep.port), `ServiceMonitor port ${ep.port}`);
      }
    }
    for (const pm of ofKind(objs, "PodMonitor")) {
      const spec = pm.spec as Any;
      const selected = pods.filter((p) => selects(spec.selector.matchLabels, p.labels));
      assert.ok(selected.length >= 1, `PodMonitor ${pm.metadata.name} selects pods`);
      for (const ep of spec.podMetricsEndpoints) {
        for (const p of selected) assert.ok(p.ports.has(ep.port), `PodMonitor port ${ep.port} on ${p.name}`);
      }
    }
    for (const np of ofKind(objs, "NetworkPolicy")) {
      const spec = np.spec as Any;
      const sel = spec.podSelector.matchLabels;
      if (!sel) continue; // the default deny selects every pod
      const selected = pods.filter((p) => selects(sel, p.labels));
      assert.ok(selected.length >= 1, `NetworkPolicy ${np.metadata.name} selects pods`);
      for (const rule of spec.ingress ?? []) {
        for (const port of rule.ports ?? []) {
          if (typeof port.port === "string") {
            for (const p of selected) {
              assert.ok(p.ports.has(port.port), `NetworkPolicy ${np.metadata.name} port ${port.port} on ${p.name}`);
            }
          }
        }
      }
    }
    for (const pdb of ofKind(objs, "PodDisruptionBudget")) {
      assert.ok(
        pods.some((p) => selects((pdb.spec as Any).selector.matchLabels, p.labels)),
        `PDB ${pdb.metadata.name}`,
      );
    }
  });

  Deno.test(`k8s ${overlay}: references resolve (config, secrets, service accounts, RBAC is read-only)`, () => {
    const objs = objects();
    for (const w of workloads(objs)) {
      const pod = podSpecOf(w) as Any;
      if (pod.serviceAccountName) find(objs, "ServiceAccount", pod.serviceAccountName);
      for (const c of containersOf(w)) envOf(objs, c); // throws when a ConfigMap or Secret is missing
    }
    for (const role of ofKind(objs, "Role")) {
      for (const rule of (role as Any).rules) {
        assert.deepEqual(
          rule.verbs.filter((v: string) => !["get", "list", "watch"].includes(v)),
          [],
          "read-only verbs",
        );
      }
    }
    for (const rb of ofKind(objs, "RoleBinding")) {
      find(objs, "Role", (rb as Any).roleRef.name);
      for (const s of (rb as Any).subjects) {
        const sa = find(objs, "ServiceAccount", s.name);
        assert.equal(s.namespace, sa.metadata.namespace, `RoleBinding subject ${s.name} namespace`);
      }
    }
    // The scaling metrics read Deployments, HPAs and ScaledObjects: the gateway's account must be bound to that.
    const binding = ofKind(objs, "RoleBinding").find((rb) =>
      (rb as Any).subjects.some((s: Any) => s.name === "amas-orchestrator")
    );
    assert.ok(binding, "the gateway's ServiceAccount is bound to the scaling reader role");
    const rules = (find(objs, "Role", (binding as Any).roleRef.name) as Any).rules;
    for (
      const [group, resource] of [["apps", "deployments"], ["autoscaling", "horizontalpodautoscalers"], [
        "keda.sh",
        "scaledobjects",
      ]]
    ) {
      assert.ok(
        rules.some((r: Any) => r.apiGroups.includes(group) && r.resources.includes(resource)),
        `${group}/${resource}`,
      );
    }
  });

  Deno.test(`k8s ${overlay}: pods are non-root with a read-only root filesystem and fitting drain times`, () => {
    const objs = objects();
    for (const w of workloads(objs)) {
      const pod = podSpecOf(w) as Any;
      assert.equal(pod.securityContext?.runAsNonRoot, true, `${w.metadata.name} runAsNonRoot`);
      assert.ok(pod.securityContext.runAsUser > 0, `${w.metadata.name} runAsUser`);
      for (const c of containersOf(w)) {
        assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${w.metadata.name}/${c.name} read-only root`);
        assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${w.metadata.name}/${c.name}`);
        assert.deepEqual(c.securityContext?.capabilities?.drop, ["ALL"]);
        const env = envOf(objs, c);
        if (env.AMAS_SHUTDOWN_GRACE_MS === undefined) continue;
        // Kubernetes counts the preStop hook inside terminationGracePeriodSeconds.
        const preStop = c.lifecycle?.preStop?.exec?.command;
        const preStopSeconds = preStop?.[0] === "sleep"
          ? Number(preStop[1])
          : (c.lifecycle?.preStop?.sleep?.seconds ?? 0);
        const needed = preStopSeconds + Number(env.AMAS_SHUTDOWN_GRACE_MS) / 1000;
        assert.ok(
          pod.terminationGracePeriodSeconds > needed,
          `${w.metadata.name}: terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} must exceed preStop ${preStopSeconds} s + drain ${
            needed - preStopSeconds
          } s`,
        );
        // Every writable path is an emptyDir the app is allowed to write (--allow-write=/tmp,/data in the image).
        for (const m of c.volumeMounts ?? []) assert.ok(["/tmp", "/data"].includes(m.mountPath), m.mountPath);
        if (env.AMAS_DATA_DIR) assert.ok(c.volumeMounts.some((m: Any) => m.mountPath === env.AMAS_DATA_DIR));
      }
    }
  });

  Deno.test(`k8s ${overlay}: autoscaling: one autoscaler per Deployment, triggers complete, requests set`, async () => {
    const objs = objects();
    const scaled = ofKind(objs, "ScaledObject");
    const hpas = ofKind(objs, "HorizontalPodAutoscaler");
    if (overlay === "hpa-only") {
      assert.equal(scaled.length, 0, "hpa-only must not contain a ScaledObject");
      assert.ok(hpas.length >= 1);
    }
    const targets = [...scaled, ...hpas].map((s) => (s.spec as Any).scaleTargetRef.name as string);
    assert.equal(new Set(targets).size, targets.length, `one autoscaler per Deployment: ${targets}`);
    const names = exposedNames(await scanInstruments());
    const ns = overlay === "dev" ? "amas-dev" : "amas-prod";
    const jobs = jobsConfigSchema.parse({});
    for (const so of scaled) {
      const spec = so.spec as Any;
      const target = find(objs, "Deployment", spec.scaleTargetRef.name);
      assert.ok(spec.minReplicaCount >= 1 && spec.minReplicaCount < spec.maxReplicaCount);
      assert.ok(spec.fallback.replicas >= spec.minReplicaCount && spec.fallback.replicas <= spec.maxReplicaCount);
      // KEDA's admission webhook (2.17+) accepts a fallback only with at least one AverageValue trigger that is
      // not CPU/memory; the fallback only ever acts on those triggers.
      assert.ok(
        spec.triggers.some((t: Any) =>
          !["cpu", "memory"].includes(t.type) && (t.metricType ?? "AverageValue") === "AverageValue"
        ),
        `${so.metadata.name}: a fallback needs an AverageValue trigger`,
      );
      for (const t of spec.triggers) {
        if (t.type === "prometheus") {
          // The KEDA schema accepts a prometheus trigger without a query (PITFALLS.md): check it here.
          assert.ok(typeof t.metadata.query === "string" && t.metadata.query.trim().length > 0, `${t.name}: query`);
          assert.ok(t.metadata.serverAddress?.startsWith("http"), `${t.name}: serverAddress`);
          assert.ok(Number.isFinite(Number(t.metadata.threshold)) && Number(t.metadata.threshold) > 0);
          assert.ok(Number.isFinite(Number(t.metadata.activationThreshold ?? "0")));
          const q = t.metadata.query as string;
          // One scalar for KEDA, never an empty vector.
          assert.match(q, /^sum\(.*\) or vector\(0\)$/, `${t.name}: wrap in sum(...) or vector(0)`);
          if (q.includes("histogram_quantile")) assert.match(q, />= 0\) or vector\(0\)$/, `${t.name}: filter NaN`);
          assert.ok(q.includes(`namespace="${ns}"`), `${t.name}: the query must select this overlay's namespace`);
          for (const m of metricNamesIn(q)) assert.ok(names.has(m), `${t.name}: metric ${m} is not created in src/`);
        } else if (t.type === "cpu" || t.type === "memory") {
          assert.equal(t.metricType, "Utilization");
          for (const c of containersOf(target)) {
            assert.ok(
              c.resources?.requests?.[t.type],
              `${t.type} trigger needs ${target.metadata.name}/${c.name} requests`,
            );
          }
        } else if (t.type === "redis-streams") {
          // The stream and group must be the ones the workers of the target Deployment consume.
          const [worker] = containersOf(target);
          const pools = (worker.env.find((e: Any) => e.name === "AMAS_WORKER_POOLS")?.value ?? "general").split(",");
          const streams = allStreams(jobs).filter((s) => pools.includes(s.pool)).map((s) => s.stream);
          assert.ok(
            streams.includes(t.metadata.stream),
            `${so.metadata.name}: stream ${t.metadata.stream} vs ${streams}`,
          );
          assert.equal(t.metadata.consumerGroup, jobs.group);
          const [host, port] = t.metadata.address.split(":");
          const [svc, svcNs] = host.split(".");
          assert.equal(svcNs, ns, `${so.metadata.name}: the KEDA operator needs the Redis address in ${ns}`);
          assert.ok((find(objs, "Service", svc).spec as Any).ports.some((p: Any) => String(p.port) === port));
          assert.ok(t.metadata.lagCount || t.metadata.pendingEntriesCount || t.metadata.streamLength);
        } else {
          assert.fail(`unexpected trigger type ${t.type}`);
        }
      }
    }
    for (const hpa of hpas) {
      const spec = hpa.spec as Any;
      const target = find(objs, "Deployment", spec.scaleTargetRef.name);
      for (const m of spec.metrics) {
        if (m.type === "Resource") {
          for (const c of containersOf(target)) assert.ok(c.resources?.requests?.[m.resource.name]);
        }
      }
    }
    // PDB: voluntary evictions stay possible at the autoscaler's minimum and never take every pod.
    for (const pdb of ofKind(objs, "PodDisruptionBudget")) {
      const spec = pdb.spec as Any;
      const dep = workloads(objs).find((w) =>
        selects(spec.selector.matchLabels, (w.spec as Any).template.metadata.labels)
      )!;
      const scaler = [...scaled, ...hpas].find((s) => (s.spec as Any).scaleTargetRef.name === dep.metadata.name);
      const min = scaler ? ((scaler.spec as Any).minReplicaCount ?? (scaler.spec as Any).minReplicas) : 1;
      if (spec.minAvailable !== undefined) assert.ok(spec.minAvailable < min, `PDB minAvailable < minReplicas ${min}`);
      else assert.ok(spec.maxUnavailable >= 1 && spec.maxUnavailable < Math.max(2, min), "PDB maxUnavailable");
    }
    // VPA (no npm schema model): known fields only, recommendation mode on an existing Deployment's containers.
    for (const vpa of ofKind(objs, "VerticalPodAutoscaler")) {
      const spec = vpa.spec as Any;
      assert.deepEqual(
        Object.keys(spec).filter((k) => !["targetRef", "updatePolicy", "resourcePolicy", "recommenders"].includes(k)),
        [],
      );
      for (const p of spec.resourcePolicy.containerPolicies) {
        const known = ["containerName", "mode", "minAllowed", "maxAllowed", "controlledResources", "controlledValues"];
        assert.deepEqual(Object.keys(p).filter((k) => !known.includes(k)), [], "VPA containerPolicies fields");
      }
      assert.equal(spec.updatePolicy.updateMode, "Off", "a VPA acting on CPU/memory would fight the HPA");
      const target = find(objs, "Deployment", spec.targetRef.name);
      for (const p of spec.resourcePolicy.containerPolicies) {
        assert.ok(containersOf(target).some((c) => c.name === p.containerName), p.containerName);
      }
    }
  });
}

Deno.test("k8s base: the gateway's ScaledObject carries the seed's triggers and behaviour", () => {
  const so = find(base, "ScaledObject", "amas-orchestrator-scaler").spec as Any;
  assert.equal(so.minReplicaCount, 2);
  assert.equal(so.maxReplicaCount, 50);
  const byName = Object.fromEntries(so.triggers.map((t: Any) => [t.name ?? t.type, t]));
  const expect = (name: string, metricType: string, threshold: string, activation?: string) => {
    assert.equal(byName[name].metricType, metricType, name);
    assert.equal(Number(byName[name].metadata.threshold ?? byName[name].metadata.value), Number(threshold), name);
    if (activation) assert.equal(Number(byName[name].metadata.activationThreshold), Number(activation), name);
  };
  expect("http-rps", "AverageValue", "15", "5");
  expect("queue-depth", "AverageValue", "25", "10");
  expect("p95-latency", "Value", "1.0", "0.5");
  expect("cpu", "Utilization", "70");
  expect("memory", "Utilization", "80");
  const behavior = so.advanced.horizontalPodAutoscalerConfig.behavior;
  assert.deepEqual(behavior, {
    scaleUp: {
      stabilizationWindowSeconds: 60,
      selectPolicy: "Min",
      policies: [{ type: "Percent", value: 100, periodSeconds: 60 }, { type: "Pods", value: 5, periodSeconds: 60 }],
    },
    scaleDown: {
      stabilizationWindowSeconds: 300,
      selectPolicy: "Min",
      policies: [{ type: "Percent", value: 10, periodSeconds: 60 }, { type: "Pods", value: 2, periodSeconds: 60 }],
    },
  });
  // The backup HPA behaves exactly like KEDA's.
  const hpa = find(rendered.get("hpa-only")!, "HorizontalPodAutoscaler", "amas-orchestrator").spec as Any;
  assert.deepEqual(hpa.behavior, behavior);
  assert.equal(hpa.minReplicas, so.minReplicaCount);
  assert.equal(hpa.maxReplicas, so.maxReplicaCount);
});

Deno.test("k8s: schema validation is live (a broken object is rejected)", () => {
  const dep = structuredClone(find(base, "Deployment", "amas-orchestrator")) as Any;
  dep.spec.template.spec.containers[0].ports[0].containerPort = "eight thousand";
  assert.throws(() => validateObject(dep), /containerPort must be integer/);
  const so = structuredClone(find(base, "ScaledObject", "amas-orchestrator-scaler")) as Any;
  so.spec.triggers[0].metadata.threshold = 15;
  assert.throws(() => validateObject(so), /threshold must be string/);
  const pr = structuredClone(find(base, "PrometheusRule", "amas-slo")) as Any;
  delete pr.spec.groups[0].name;
  assert.throws(() => validateObject(pr), /name/);
  // Misspelt fields pass the schema validators but not the declaration walk, at any depth.
  dep.spec.template.spec.terminationGracePeriodSecond = 35;
  assert.deepEqual(unknownFields(dep.apiVersion, dep.kind, dep), ["spec.template.spec.terminationGracePeriodSecond"]);
  so.spec.triggers[2].metadata.threshold = "1.0";
  so.spec.triggers[2].activationTreshold = "0.5";
  so.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.stabilisationWindowSeconds = 60;
  assert.deepEqual(unknownFields(so.apiVersion, so.kind, so), [
    "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.stabilisationWindowSeconds",
    "spec.triggers[2].activationTreshold",
  ]);
  pr.spec.groups[1].rules[0].fro = "2m";
  assert.deepEqual(unknownFields(pr.apiVersion, pr.kind, pr), ["spec.groups[1].rules[0].fro"]);
});

Deno.test("k8s: the PrometheusRule passes promtool and every query names real metrics", async () => {
  const pr = find(base, "PrometheusRule", "amas-slo") as Any;
  const dir = await Deno.makeTempDir({ prefix: "amas-rules-" });
  try {
    await Deno.writeTextFile(`${dir}/rules.json`, JSON.stringify({ groups: pr.spec.groups }));
    const out = await new Deno.Command("promtool", {
      args: ["check", "rules", `${dir}/rules.json`],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.ok(out.success, text);
    assert.match(text, /SUCCESS: \d+ rules found/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const names = exposedNames(await scanInstruments());
  const records = new Set(pr.spec.groups.flatMap((g: Any) => g.rules.map((r: Any) => r.record)).filter(Boolean));
  const builtins = new Set(["up"]);
  const unknown: string[] = [];
  for (const q of extractPromql(base)) {
    for (const m of metricNamesIn(q.expr)) {
      if (!names.has(m) && !records.has(m) && !builtins.has(m)) unknown.push(`${q.where}: ${m}`);
    }
  }
  assert.deepEqual(unknown, [], "metrics named in k8s/ that src/ does not create");
});

Deno.test("k8s: dashboards are provisioned, parse, and have unique uids", () => {
  const cm = find(base, "ConfigMap", "amas-dashboards") as Any;
  assert.equal(cm.metadata.labels.grafana_dashboard, "1");
  const titles: string[] = [];
  const uids = new Set<string>();
  for (const text of Object.values(cm.data as Record<string, string>)) {
    const d = JSON.parse(text);
    titles.push(d.title);
    uids.add(d.uid);
    assert.ok(d.panels.length >= 4, d.title);
    for (const p of d.panels) {
      assert.ok(p.targets?.length >= 1 && p.targets.every((t: Any) => t.expr), `${d.title}/${p.title}`);
    }
  }
  assert.equal(uids.size, titles.length);
  for (const want of ["Scaling Events", "Performance Metrics", "Load Test Results", "Cost Analytics"]) {
    assert.ok(titles.some((t) => t.endsWith(want)), want);
  }
});
