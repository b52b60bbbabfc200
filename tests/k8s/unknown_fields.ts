/**
 * Unknown-field detection, which the `kubernetes-models` validators do not do (a misspelt
 * `terminationGracePeriodSecond` passes `.validate()` and would be silently dropped by the API server). The
 * models' TypeScript declarations list every property of every type; this walks a rendered object along them and
 * reports each key that its type does not declare.
 *
 * @module
 */
import { dirname, join } from "node:path";

const ROOT = join(dirname(new URL(import.meta.url).pathname), "..", "..");

/** A declared type: an object with known properties, a string-keyed map, an array, or a leaf. */
type TypeNode =
  | { kind: "object"; props: Map<string, () => TypeNode> }
  | { kind: "map"; value: () => TypeNode }
  | { kind: "array"; item: () => TypeNode }
  | { kind: "leaf" };

const LEAF: TypeNode = { kind: "leaf" };
const fileCache = new Map<string, TypeNode>();

/** Where each modelled apiVersion/kind's declaration lives (package, path inside it). */
const ENTRY: Record<string, [string, string]> = {
  "v1/Namespace": ["kubernetes-models", "v1/Namespace"],
  "v1/ConfigMap": ["kubernetes-models", "v1/ConfigMap"],
  "v1/Secret": ["kubernetes-models", "v1/Secret"],
  "v1/Service": ["kubernetes-models", "v1/Service"],
  "v1/ServiceAccount": ["kubernetes-models", "v1/ServiceAccount"],
  "apps/v1/Deployment": ["kubernetes-models", "apps/v1/Deployment"],
  "apps/v1/StatefulSet": ["kubernetes-models", "apps/v1/StatefulSet"],
  "rbac.authorization.k8s.io/v1/Role": ["kubernetes-models", "rbac.authorization.k8s.io/v1/Role"],
  "rbac.authorization.k8s.io/v1/RoleBinding": ["kubernetes-models", "rbac.authorization.k8s.io/v1/RoleBinding"],
  "policy/v1/PodDisruptionBudget": ["kubernetes-models", "policy/v1/PodDisruptionBudget"],
  "networking.k8s.io/v1/NetworkPolicy": ["kubernetes-models", "networking.k8s.io/v1/NetworkPolicy"],
  "autoscaling/v2/HorizontalPodAutoscaler": ["kubernetes-models", "autoscaling/v2/HorizontalPodAutoscaler"],
  "keda.sh/v1alpha1/ScaledObject": ["@kubernetes-models/keda", "keda.sh/v1alpha1/ScaledObject"],
  "monitoring.coreos.com/v1/ServiceMonitor": [
    "@kubernetes-models/prometheus-operator",
    "monitoring.coreos.com/v1/ServiceMonitor",
  ],
  "monitoring.coreos.com/v1/PodMonitor": [
    "@kubernetes-models/prometheus-operator",
    "monitoring.coreos.com/v1/PodMonitor",
  ],
  "monitoring.coreos.com/v1/PrometheusRule": [
    "@kubernetes-models/prometheus-operator",
    "monitoring.coreos.com/v1/PrometheusRule",
  ],
};

/** Node-style resolution of a package from a directory (walks up through node_modules folders). */
function resolvePackage(from: string, pkg: string): string {
  let dir = from;
  while (true) {
    const candidate = join(dir, "node_modules", pkg);
    try {
      Deno.statSync(candidate);
      return Deno.realPathSync(candidate);
    } catch { /* keep walking */ }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot resolve ${pkg} from ${from}`);
    dir = parent;
  }
}

/** Splits `text` at `sep` where no bracket is open. */
function splitTop(text: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "{" || ch === "<" || ch === "(" || ch === "[") depth++;
    else if (ch === "}" || ch === ">" || ch === ")" || ch === "]") depth--;
    else if (depth === 0 && text.startsWith(sep, i)) {
      parts.push(text.slice(start, i));
      start = i + sep.length;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter(Boolean);
}

/** Parses the members of an object type body (`"a"?: T; "b": U;` or an index signature). */
function parseMembers(body: string, resolve: (name: string) => TypeNode): TypeNode {
  const members = splitTop(body, ";");
  const props = new Map<string, () => TypeNode>();
  for (const m of members) {
    const index = /^\[\w+: string\]\s*:\s*([\s\S]+)$/.exec(m);
    if (index) {
      const value = index[1];
      return { kind: "map", value: () => parseType(value, resolve) };
    }
    const prop = /^"?([\w$.-]+)"?\??\s*:\s*([\s\S]+)$/.exec(m);
    if (!prop) continue;
    const type = prop[2];
    props.set(prop[1], () => parseType(type, resolve));
  }
  return { kind: "object", props };
}

function parseType(text: string, resolve: (name: string) => TypeNode): TypeNode {
  const t = text.trim();
  if (splitTop(t, "|").length > 1) return LEAF;
  const array = /^Array<([\s\S]+)>$/.exec(t);
  if (array) return { kind: "array", item: () => parseType(array[1], resolve) };
  if (t.endsWith("[]")) return { kind: "array", item: () => parseType(t.slice(0, -2), resolve) };
  if (t.startsWith("{") && t.endsWith("}")) return parseMembers(t.slice(1, -1), resolve);
  if (/^I[A-Z]\w*$/.test(t)) return resolve(t);
  return LEAF;
}

/** The type declared by the interface of a `.d.ts` file (the first `export interface`), with its imports. */
function typeOfFile(file: string): TypeNode {
  const cached = fileCache.get(file);
  if (cached) return cached;
  const text = Deno.readTextFileSync(file).replace(/\/\*[\s\S]*?\*\//g, "");
  const imports = new Map<string, string>();
  for (const m of text.matchAll(/import \{ (\w+) \} from "([^"]+)";/g)) imports.set(m[1], m[2]);
  const head = /export interface \w+(?: extends (\w+))? \{/.exec(text);
  if (!head) {
    // Type aliases (`export type IFoo = string | number`) are leaves.
    fileCache.set(file, LEAF);
    return LEAF;
  }
  let depth = 0;
  let end = head.index + head[0].length - 1;
  for (; end < text.length; end++) {
    if (text[end] === "{") depth++;
    else if (text[end] === "}" && --depth === 0) break;
  }
  const body = text.slice(head.index + head[0].length, end);
  const resolve = (name: string): TypeNode => {
    const from = imports.get(name);
    if (!from) return LEAF;
    const path = from.startsWith(".") ? join(dirname(file), from.replace(/\.js$/, ".d.ts")) : (() => {
      const parts = from.split("/");
      const pkg = from.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
      const rest = from.slice(pkg.length + 1);
      return join(resolvePackage(dirname(file), pkg), `${rest.replace(/\.js$/, "")}.d.ts`);
    })();
    return typeOfFile(path);
  };
  const node = parseMembers(body, resolve);
  if (node.kind === "object" && head[1] === "TypeMeta") {
    node.props.set("apiVersion", () => LEAF);
    node.props.set("kind", () => LEAF);
  }
  fileCache.set(file, node);
  return node;
}

/** The keys of `value` that its declared type does not have, as paths (`spec.template.spec.foo`). */
export function unknownFields(apiVersion: string, kind: string, value: unknown): string[] {
  const entry = ENTRY[`${apiVersion}/${kind}`];
  if (!entry) throw new Error(`no declarations known for ${apiVersion}/${kind}`);
  const [pkg, path] = entry;
  const root = typeOfFile(join(resolvePackage(ROOT, pkg), `${path}.d.ts`));
  const out: string[] = [];
  const walk = (v: unknown, t: TypeNode, at: string) => {
    if (v === null || typeof v !== "object") return;
    if (Array.isArray(v)) {
      if (t.kind === "array") v.forEach((x, i) => walk(x, t.item(), `${at}[${i}]`));
      return;
    }
    if (t.kind === "map") {
      for (const [k, x] of Object.entries(v)) walk(x, t.value(), `${at}.${k}`);
    } else if (t.kind === "object") {
      for (const [k, x] of Object.entries(v)) {
        const p = t.props.get(k);
        if (!p) out.push(at ? `${at}.${k}` : k);
        else walk(x, p(), at ? `${at}.${k}` : k);
      }
    }
  };
  walk(value, root, "");
  return out;
}
