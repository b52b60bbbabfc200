/**
 * A small kustomize renderer for exactly the features `k8s/` uses, so the manifests can be validated on a machine
 * without `kubectl` or `kustomize`: `resources` (files and kustomization directories), `configMapGenerator`
 * (files, literals, labels, `disableNameSuffixHash: true` only), `patches` (strategic merge with the merge keys of
 * the built-in kinds, `$patch: delete`, and JSON 6902 with a target), `namespace` (including Namespace objects and
 * RoleBinding subjects, as kustomize 5 does), `labels` (metadata only) and `images`. Anything else throws, so an
 * unsupported feature can never be silently ignored. When `kubectl` is installed, tests/k8s compares this output
 * with `kubectl kustomize`.
 *
 * @module
 */
import { parseAllDocuments } from "yaml";
import { basename, dirname, join } from "node:path";

/** A Kubernetes object as rendered. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const SUPPORTED_FIELDS = new Set([
  "apiVersion",
  "kind",
  "namespace",
  "resources",
  "configMapGenerator",
  "patches",
  "labels",
  "images",
]);

/** Kinds without a namespace (the ones k8s/ could plausibly contain). */
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "PriorityClass",
  "StorageClass",
  "PersistentVolume",
  "ClusterTriggerAuthentication",
]);

/** Strategic-merge keys of the list fields the patches may touch (from the Kubernetes OpenAPI `x-kubernetes-patch-merge-key`). */
const MERGE_KEYS: Record<string, string> = {
  containers: "name",
  initContainers: "name",
  env: "name",
  volumes: "name",
  volumeMounts: "mountPath",
  ports: "containerPort",
  imagePullSecrets: "name",
};

/** Renders the kustomization in `dir` (a folder holding `kustomization.yaml`). */
export async function renderKustomization(dir: string): Promise<K8sObject[]> {
  const kfile = join(dir, "kustomization.yaml");
  const k = parseOne(await Deno.readTextFile(kfile), kfile) as JsonObject;
  for (const key of Object.keys(k)) {
    if (!SUPPORTED_FIELDS.has(key)) throw new Error(`${kfile}: field '${key}' is not supported by this renderer`);
  }
  let objects: K8sObject[] = [];
  for (const entry of (k.resources ?? []) as string[]) {
    const path = join(dir, entry);
    const stat = await Deno.stat(path);
    if (stat.isDirectory) objects.push(...await renderKustomization(path));
    else objects.push(...parseObjects(await Deno.readTextFile(path), path));
  }
  for (const gen of (k.configMapGenerator ?? []) as JsonObject[]) objects.push(await generateConfigMap(dir, gen));

  for (const p of (k.patches ?? []) as JsonObject[]) objects = await applyPatch(dir, objects, p);

  if (typeof k.namespace === "string") setNamespace(objects, k.namespace);

  for (const l of (k.labels ?? []) as JsonObject[]) {
    if (l.includeSelectors === true || l.includeTemplates === true) {
      throw new Error(`${kfile}: labels with includeSelectors/includeTemplates are not supported by this renderer`);
    }
    for (const o of objects) o.metadata.labels = { ...o.metadata.labels, ...(l.pairs as Record<string, string>) };
  }

  for (const img of (k.images ?? []) as JsonObject[]) setImage(objects, img);
  return objects;
}

function parseOne(text: string, source: string): Json {
  const docs = parseAllDocuments(text);
  if (Array.isArray(docs) === false || docs.length !== 1) throw new Error(`${source}: expected one YAML document`);
  const [doc] = docs;
  if (doc.errors.length) throw new Error(`${source}: ${doc.errors[0].message}`);
  return doc.toJS() as Json;
}

/** Parses a multi-document YAML file into objects, skipping empty documents. */
export function parseObjects(text: string, source: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text) as ReturnType<typeof parseAllDocuments> & unknown[]) {
    if (doc.errors.length) throw new Error(`${source}: ${doc.errors[0].message}`);
    const value = doc.toJS() as K8sObject | null;
    if (value === null || value === undefined) continue;
    if (!value.apiVersion || !value.kind || !value.metadata?.name) {
      throw new Error(`${source}: every document needs apiVersion, kind and metadata.name`);
    }
    ORIGINAL_NAMESPACE.set(value, value.metadata.namespace ?? "default");
    out.push(value);
  }
  return out;
}

async function generateConfigMap(dir: string, gen: JsonObject): Promise<K8sObject> {
  const options = (gen.options ?? {}) as JsonObject;
  if (options.disableNameSuffixHash !== true) {
    throw new Error(`configMapGenerator '${gen.name}': only disableNameSuffixHash: true is supported by this renderer`);
  }
  const data: Record<string, string> = {};
  for (const f of (gen.files ?? []) as string[]) {
    const [key, file] = f.includes("=") ? f.split("=", 2) : [basename(f), f];
    data[key] = await Deno.readTextFile(join(dir, file));
  }
  for (const lit of (gen.literals ?? []) as string[]) {
    const eq = lit.indexOf("=");
    data[lit.slice(0, eq)] = lit.slice(eq + 1);
  }
  const metadata: K8sObject["metadata"] = { name: gen.name as string };
  if (options.labels) metadata.labels = { ...(options.labels as Record<string, string>) };
  return { apiVersion: "v1", kind: "ConfigMap", metadata, data };
}

function groupOf(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf("/");
  return i < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

function matchesTarget(o: K8sObject, t: JsonObject): boolean {
  const { group, version } = groupOf(o.apiVersion);
  const re = (v: Json | undefined) => (v === undefined ? undefined : new RegExp(`^(?:${v})$`));
  if (t.group !== undefined && t.group !== group) return false;
  if (t.version !== undefined && t.version !== version) return false;
  if (t.kind !== undefined && !re(t.kind)!.test(o.kind)) return false;
  if (t.name !== undefined && !re(t.name)!.test(o.metadata.name)) return false;
  if (t.namespace !== undefined && !re(t.namespace)!.test(o.metadata.namespace ?? "")) return false;
  if (t.labelSelector !== undefined || t.annotationSelector !== undefined) {
    throw new Error("patch targets with label/annotation selectors are not supported by this renderer");
  }
  return true;
}

async function applyPatch(dir: string, objects: K8sObject[], p: JsonObject): Promise<K8sObject[]> {
  const source = typeof p.path === "string" ? join(dir, p.path) : `${dir} (inline patch)`;
  const text = typeof p.path === "string" ? await Deno.readTextFile(source) : p.patch as string;
  if (typeof text !== "string") throw new Error(`${dir}: a patch needs 'path' or 'patch'`);
  const target = p.target as JsonObject | undefined;
  const docs = parseAllDocuments(text) as unknown as { toJS(): Json; errors: { message: string }[] }[];
  const values = docs.map((d) => {
    if (d.errors.length) throw new Error(`${source}: ${d.errors[0].message}`);
    return d.toJS();
  }).filter((v) => v !== null);

  if (values.length === 1 && Array.isArray(values[0])) {
    if (!target) throw new Error(`${source}: a JSON 6902 patch needs a target`);
    const matched = objects.filter((o) => matchesTarget(o, target));
    if (matched.length === 0) throw new Error(`${source}: the patch target matches no resource`);
    for (const o of matched) applyJson6902(o as unknown as JsonObject, values[0] as JsonObject[], source);
    return objects;
  }

  let out = objects;
  for (const patch of values as JsonObject[]) {
    const meta = (patch.metadata ?? {}) as JsonObject;
    const matches = (o: K8sObject) =>
      target ? matchesTarget(o, target) : o.kind === patch.kind && o.metadata.name === meta.name &&
        groupOf(o.apiVersion).group === groupOf(patch.apiVersion as string).group;
    const matched = out.filter(matches);
    if (matched.length === 0) {
      throw new Error(`${source}: the patch for ${patch.kind}/${meta.name} matches no resource`);
    }
    if (patch.$patch === "delete") {
      out = out.filter((o) => !matches(o));
      continue;
    }
    for (const o of matched) {
      // With a target, the patch's own name only identifies the patch; never rename the object.
      const body = target ? { ...patch, metadata: { ...meta, name: o.metadata.name } } : patch;
      strategicMerge(o as unknown as JsonObject, body);
    }
  }
  return out;
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Strategic merge: maps merge, `null` deletes, lists with a known merge key merge by it, other lists replace. */
export function strategicMerge(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  mergeInto(target as JsonObject, patch as JsonObject);
}

function mergeInto(target: JsonObject, patch: JsonObject): void {
  for (const [key, value] of Object.entries(patch)) {
    if (key === "$patch") continue;
    if (value === null) {
      delete target[key];
    } else if (isObject(value) && isObject(target[key])) {
      mergeInto(target[key] as JsonObject, value);
    } else if (Array.isArray(value) && Array.isArray(target[key]) && MERGE_KEYS[key]) {
      // As kustomize does: the patch's items first (merged into their originals), then the untouched originals.
      const mk = MERGE_KEYS[key];
      const list = target[key] as Json[];
      const merged: Json[] = [];
      for (const item of value) {
        const existing = isObject(item) ? list.find((t) => isObject(t) && t[mk] === item[mk]) : undefined;
        if (existing && isObject(item)) {
          mergeInto(existing as JsonObject, item);
          merged.push(existing);
        } else merged.push(structuredClone(item));
      }
      target[key] = [...merged, ...list.filter((t) => !merged.includes(t))];
    } else {
      target[key] = structuredClone(value);
    }
  }
}

function pointer(path: string): string[] {
  if (!path.startsWith("/")) throw new Error(`JSON pointer must start with '/': ${path}`);
  return path.slice(1).split("/").map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
}

/** JSON 6902 operations add, remove, replace and test. */
export function applyJson6902(doc: Record<string, unknown>, ops: Record<string, unknown>[], source = "patch"): void {
  for (const op of ops as JsonObject[]) {
    const parts = pointer(op.path as string);
    const last = parts.pop()!;
    let node: Json = doc as JsonObject;
    for (const p of parts) {
      node = Array.isArray(node) ? node[Number(p)] : isObject(node) ? node[p] : undefined as unknown as Json;
      if (node === undefined || node === null) throw new Error(`${source}: path ${op.path} does not exist`);
    }
    const container = node as JsonObject | Json[];
    const exists = Array.isArray(container) ? Number(last) < container.length : last in container;
    switch (op.op) {
      case "add":
        if (Array.isArray(container)) {
          container.splice(last === "-" ? container.length : Number(last), 0, structuredClone(op.value));
        } else container[last] = structuredClone(op.value);
        break;
      case "replace":
        if (!exists) throw new Error(`${source}: replace of missing path ${op.path}`);
        (container as JsonObject)[last] = structuredClone(op.value);
        break;
      case "remove":
        if (!exists) throw new Error(`${source}: remove of missing path ${op.path}`);
        if (Array.isArray(container)) container.splice(Number(last), 1);
        else delete container[last];
        break;
      case "test":
        if (JSON.stringify((container as JsonObject)[last]) !== JSON.stringify(op.value)) {
          throw new Error(`${source}: test failed at ${op.path}`);
        }
        break;
      default:
        throw new Error(`${source}: JSON 6902 op '${op.op}' is not supported by this renderer`);
    }
  }
}

/** Each object's namespace as written in its source file ("default" when none), kept across layers. */
const ORIGINAL_NAMESPACE = new WeakMap<object, string>();
/** RoleBinding subjects that kustomize already moved along with their ServiceAccount. */
const TRACKED_SUBJECTS = new WeakSet<object>();

/**
 * kustomize 5's namespace transformer: namespaced objects get the namespace and Namespace objects are renamed. A
 * ServiceAccount subject of a (Cluster)RoleBinding follows its ServiceAccount (kustomize's name references) when
 * the account is among the objects and the subject named the account's namespace as written in its file (none
 * counts as "default"); once moved, it keeps following in later layers. `kubectl kustomize` agrees on the cases in
 * kustomize_test.ts (checked there when kubectl is installed).
 */
function setNamespace(objects: K8sObject[], ns: string): void {
  const accounts = new Map<string, string>();
  for (const o of objects) if (o.kind === "ServiceAccount") accounts.set(o.metadata.name, originalNamespace(o));
  for (const o of objects) {
    if (o.kind === "Namespace") o.metadata.name = ns;
    else if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = ns;
    if (o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding") {
      for (const s of (o.subjects ?? []) as JsonObject[]) {
        if (s.kind !== "ServiceAccount" || !accounts.has(s.name as string)) continue;
        if (TRACKED_SUBJECTS.has(s) || accounts.get(s.name as string) === s.namespace) {
          s.namespace = ns;
          TRACKED_SUBJECTS.add(s);
        }
      }
    }
  }
}

function originalNamespace(o: K8sObject): string {
  return ORIGINAL_NAMESPACE.get(o) ?? "default";
}

/** The pod spec of a workload, if it has one. */
export function podSpecOf(o: K8sObject): JsonObject | undefined {
  const spec = o.spec as JsonObject | undefined;
  if (!spec) return undefined;
  if (o.kind === "Pod") return spec;
  if (o.kind === "CronJob") {
    return (((spec.jobTemplate as JsonObject)?.spec as JsonObject)?.template as JsonObject)?.spec as JsonObject;
  }
  return (spec.template as JsonObject | undefined)?.spec as JsonObject | undefined;
}

function setImage(objects: K8sObject[], img: JsonObject): void {
  for (const o of objects) {
    const pod = podSpecOf(o);
    if (!pod) continue;
    for (const c of [...(pod.containers ?? []) as JsonObject[], ...(pod.initContainers ?? []) as JsonObject[]]) {
      const image = c.image as string;
      const at = image.indexOf("@");
      const withoutDigest = at < 0 ? image : image.slice(0, at);
      const colon = withoutDigest.lastIndexOf(":");
      const hasTag = colon > withoutDigest.lastIndexOf("/");
      const name = hasTag ? withoutDigest.slice(0, colon) : withoutDigest;
      if (name !== img.name) continue;
      const tag = hasTag ? withoutDigest.slice(colon + 1) : undefined;
      const newName = (img.newName as string | undefined) ?? name;
      if (img.digest) c.image = `${newName}@${img.digest}`;
      else {
        const newTag = (img.newTag as string | undefined) ?? tag;
        c.image = newTag ? `${newName}:${newTag}` : newName;
      }
    }
  }
}

/** The folder of this repository's k8s/ tree. */
export const K8S_DIR: string = join(dirname(new URL(import.meta.url).pathname), "..", "..", "k8s");

/** The overlays that ship. */
export const OVERLAYS = ["dev", "prod", "hpa-only"] as const;

/** Renders one overlay by name. */
export function renderOverlay(name: (typeof OVERLAYS)[number]): Promise<K8sObject[]> {
  return renderKustomization(join(K8S_DIR, "overlays", name));
}

/** Renders with `kubectl kustomize` when kubectl is installed; `undefined` otherwise. */
export async function renderWithKubectl(dir: string): Promise<K8sObject[] | undefined> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("kubectl", { args: ["kustomize", dir], stdout: "piped", stderr: "piped" }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  if (!out.success) throw new Error(`kubectl kustomize ${dir} failed: ${new TextDecoder().decode(out.stderr)}`);
  return parseObjects(new TextDecoder().decode(out.stdout), `kubectl kustomize ${dir}`);
}
