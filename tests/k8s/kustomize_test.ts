/**
 * The TypeScript kustomize renderer on small kustomizations of its own, so it is checked even where kubectl is not
 * installed (manifests_test.ts compares it with `kubectl kustomize` on the real overlays when kubectl is there).
 */
import assert from "node:assert/strict";
import { applyJson6902, renderKustomization, renderWithKubectl, strategicMerge } from "./kustomize.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

async function tree(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "amas-kustomize-" });
  for (const [path, text] of Object.entries(files)) {
    const full = `${dir}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(full, text);
  }
  return dir;
}

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: app
          image: ghcr.io/x/web:1.0
          env: [{name: A, value: "1"}, {name: B, value: "2"}]
        - name: sidecar
          image: busybox
`;

Deno.test("kustomize: strategic merge by name, namespace, labels, images, generator, delete and JSON 6902", async () => {
  const dir = await tree({
    "base/kustomization.yaml": `namespace: base-ns
resources: [deploy.yaml, rbac.yaml, ns.yaml, so.yaml]
configMapGenerator:
  - name: dash
    files: [d.json]
    literals: [k=v]
    options: {disableNameSuffixHash: true, labels: {grafana_dashboard: "1"}}
`,
    "base/deploy.yaml": DEPLOYMENT,
    "base/d.json": `{"a":1}`,
    "base/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: base-ns}\n",
    "base/rbac.yaml": `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}
subjects:
  - {kind: ServiceAccount, name: sa, namespace: default}
  - {kind: ServiceAccount, name: sa, namespace: elsewhere}
  - {kind: ServiceAccount, name: nosa, namespace: default}
  - {kind: ServiceAccount, name: sa, namespace: base-ns}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa}
`,
    "base/so.yaml": `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: web-scaler}
spec: {scaleTargetRef: {name: web}, triggers: [{type: cpu, metadata: {value: "70"}}]}
`,
    "overlay/kustomization.yaml": `namespace: over-ns
resources: [../base]
labels:
  - pairs: {env: test}
    includeSelectors: false
images:
  - name: ghcr.io/x/web
    newTag: "2.0"
patches:
  - path: env.yaml
  - target: {group: keda.sh, kind: ScaledObject, name: web-.*}
    patch: |-
      - op: replace
        path: /spec/triggers/0/metadata/value
        value: "80"
`,
    "deleting/kustomization.yaml": `resources: [../overlay]
patches:
  - target: {kind: Deployment}
    patch: |-
      $patch: delete
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: whatever}
`,
    "overlay/env.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
        - name: app
          env: [{name: B, value: "20"}, {name: C, value: "3"}]
`,
  });
  try {
    const base = await renderKustomization(`${dir}/base`);
    const dep = base.find((o) => o.kind === "Deployment")! as Any;
    assert.equal(dep.metadata.namespace, "base-ns");
    const cm = base.find((o) => o.kind === "ConfigMap")! as Any;
    assert.deepEqual(cm.data, { "d.json": `{"a":1}`, k: "v" });
    assert.equal(cm.metadata.labels.grafana_dashboard, "1");

    const over = await renderKustomization(`${dir}/overlay`);
    const [app, sidecar] = (over.find((o) => o.kind === "Deployment")! as Any).spec.template.spec.containers;
    // Containers and env merge by name: B replaced, C added, A and the sidecar kept (kustomize's order: the
    // patch's items first).
    assert.deepEqual(app.env, [{ name: "B", value: "20" }, { name: "C", value: "3" }, { name: "A", value: "1" }]);
    assert.equal(app.image, "ghcr.io/x/web:2.0");
    assert.equal(sidecar.image, "busybox");
    // Labels go on metadata only; selectors and pod templates keep theirs.
    assert.deepEqual((over.find((o) => o.kind === "Deployment")! as Any).spec.selector.matchLabels, { app: "web" });
    const deleted = await renderKustomization(`${dir}/deleting`);
    assert.equal(deleted.filter((o) => o.kind === "Deployment").length, 0);
    assert.equal(deleted.length, over.length - 1);
    // Where kubectl is installed, it renders these three exactly like this renderer.
    for (const k of ["base", "overlay", "deleting"]) {
      const theirs = await renderWithKubectl(`${dir}/${k}`);
      if (!theirs) break;
      const mine = await renderKustomization(`${dir}/${k}`);
      const key = (o: { kind: string; metadata: { name: string } }) => `${o.kind}/${o.metadata.name}`;
      assert.deepEqual(mine.map(key).sort(), theirs.map(key).sort(), k);
      for (const o of theirs) assert.deepEqual(mine.find((m) => key(m) === key(o)), o, `${k}: ${key(o)}`);
    }
    assert.equal(over.find((o) => o.kind === "Namespace")!.metadata.name, "over-ns");
    for (const o of over.filter((o) => o.kind !== "Namespace")) assert.equal(o.metadata.namespace, "over-ns");
    for (const o of over) assert.equal(o.metadata.labels?.env, "test");
    const rb = over.find((o) => o.kind === "RoleBinding")! as Any;
    // A subject of a ServiceAccount in the set follows it when it named the account's namespace as written ("default":
    // none); another namespace, an account not in the set, or a literal base-ns (never matched) does not.
    assert.deepEqual(rb.subjects.map((s: { namespace: string }) => s.namespace), [
      "over-ns",
      "elsewhere",
      "default",
      "base-ns",
    ]);
    const so = over.find((o) => o.kind === "ScaledObject")! as Any;
    assert.equal(so.spec.triggers[0].metadata.value, "80");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kustomize: merge semantics of the strategic merge and JSON 6902 helpers", () => {
  const target = {
    spec: {
      containers: [{ name: "a", image: "x", env: [{ name: "A", value: "1" }] }, { name: "b" }],
      keep: 1,
      drop: 2,
    },
  };
  strategicMerge(target, {
    spec: { containers: [{ name: "a", env: [{ name: "A", value: "9" }, { name: "Z", value: "0" }] }], drop: null },
  });
  assert.deepEqual(target, {
    spec: {
      containers: [{ name: "a", image: "x", env: [{ name: "A", value: "9" }, { name: "Z", value: "0" }] }, {
        name: "b",
      }],
      keep: 1,
    },
  });
  const doc = { a: { list: [1, 2, 3] } };
  applyJson6902(doc, [
    { op: "add", path: "/a/list/-", value: 4 },
    { op: "remove", path: "/a/list/0" },
    { op: "replace", path: "/a/list/0", value: 20 },
    { op: "add", path: "/a/b~1c", value: true },
    { op: "test", path: "/a/list/1", value: 3 },
  ]);
  assert.deepEqual(doc, { a: { list: [20, 3, 4], "b/c": true } });
  assert.throws(() => applyJson6902(doc, [{ op: "replace", path: "/a/nope", value: 1 }]), /missing path/);
  assert.throws(() => applyJson6902(doc, [{ op: "move", path: "/a", from: "/b" }]), /not supported/);
});

Deno.test("kustomize: unsupported features fail loudly instead of being ignored", async () => {
  const dir = await tree({
    "k/kustomization.yaml": "resources: [d.yaml]\ncommonLabels: {a: b}\n",
    "k/d.yaml": DEPLOYMENT,
    "g/kustomization.yaml": "configMapGenerator: [{name: x, literals: [a=b]}]\n",
  });
  try {
    await assert.rejects(() => renderKustomization(`${dir}/k`), /field 'commonLabels' is not supported/);
    await assert.rejects(() => renderKustomization(`${dir}/g`), /disableNameSuffixHash/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
