/**
 * Reading the manifests the simulator replays: a YAML file, a folder of YAML files, or a kustomize folder
 * (rendered with `kubectl kustomize` or `kustomize build` when one is installed, else with a small built-in
 * renderer that understands `resources`, `namespace` and `patches`: JSON 6902, strategic-merge (objects merge,
 * lists are replaced: enough for the fields the simulator reads) and `$patch: delete`; targets match by regex). The result is the list of Kubernetes objects.
 *
 * @module
 */
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { dirname, join } from "node:path";

/** A Kubernetes object as read from YAML. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Parses every document of a YAML stream into objects (empty documents skipped). */
export function parseManifests(text: string, source = "manifest"): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`${source}: invalid YAML: ${doc.errors[0].message}`);
    const value = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== "object" || !("kind" in value)) continue;
    if (value.kind === "List" && Array.isArray(value.items)) out.push(...value.items);
    else out.push(value as K8sObject);
  }
  return out;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

async function kustomizeBinary(dir: string): Promise<string | undefined> {
  for (const [cmd, args] of [["kubectl", ["kustomize", dir]], ["kustomize", ["build", dir]]] as const) {
    if ((await Deno.permissions.query({ name: "run", command: cmd })).state !== "granted") continue;
    try {
      const out = await new Deno.Command(cmd, { args: [...args], stdout: "piped", stderr: "piped" }).output();
      if (out.success) return new TextDecoder().decode(out.stdout);
      throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) continue;
      throw err;
    }
  }
  return undefined;
}

/**
 * Loads the objects of `path`: a YAML file, a kustomize folder, or a plain folder of YAML files.
 * `options.renderer` forces the built-in renderer (`builtin`) or an installed binary (`binary`).
 */
export async function loadManifests(
  path: string,
  options: { renderer?: "auto" | "builtin" | "binary" } = {},
): Promise<K8sObject[]> {
  if (await isFile(path)) return parseManifests(await Deno.readTextFile(path), path);
  const kustomization = await findKustomization(path);
  if (kustomization) {
    if (options.renderer !== "builtin") {
      const rendered = await kustomizeBinary(path);
      if (rendered !== undefined) return parseManifests(rendered, path);
      if (options.renderer === "binary") throw new Error("neither kubectl nor kustomize is installed");
    }
    return await renderKustomization(path);
  }
  const out: K8sObject[] = [];
  for await (const entry of Deno.readDir(path)) {
    if (entry.isFile && /\.ya?ml$/.test(entry.name)) {
      out.push(...parseManifests(await Deno.readTextFile(join(path, entry.name)), join(path, entry.name)));
    }
  }
  return out;
}

async function findKustomization(dir: string): Promise<string | undefined> {
  for (const name of ["kustomization.yaml", "kustomization.yml", "Kustomization"]) {
    if (await isFile(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

interface Patch {
  path?: string;
  patch?: string;
  target?: { kind?: string; name?: string };
}

/** The built-in renderer: `resources` (files and folders, recursively), `namespace` and `patches`. */
export async function renderKustomization(dir: string): Promise<K8sObject[]> {
  const file = await findKustomization(dir);
  if (!file) throw new Error(`${dir}: no kustomization.yaml`);
  const k = parseYaml(await Deno.readTextFile(file)) as {
    resources?: string[];
    namespace?: string;
    patches?: Patch[];
  };
  let objects: K8sObject[] = [];
  for (const resource of k.resources ?? []) {
    const path = join(dir, resource);
    if (await isFile(path)) objects.push(...parseManifests(await Deno.readTextFile(path), path));
    else objects.push(...await renderKustomization(path));
  }
  if (k.namespace) {
    objects = objects.map((o) =>
      o.kind === "Namespace" ? o : { ...o, metadata: { ...o.metadata, namespace: k.namespace } }
    );
  }
  for (const p of k.patches ?? []) {
    const text = p.patch ?? await Deno.readTextFile(join(dir, p.path!));
    for (const doc of parseAllDocuments(text)) {
      const body = doc.toJS();
      if (body === null || body === undefined) continue;
      if (Array.isArray(body)) {
        for (const o of objects) if (matches(o, p.target)) applyJson6902(o, body, join(dirname(file), p.path ?? ""));
        continue;
      }
      const target = p.target ?? { kind: body.kind, name: body.metadata?.name };
      if (body.$patch === "delete") {
        objects = objects.filter((o) => !matches(o, target));
        continue;
      }
      for (const [i, o] of objects.entries()) if (matches(o, target)) objects[i] = strategicMerge(o, body) as K8sObject;
    }
  }
  return objects;
}

function matches(o: K8sObject, target: Patch["target"]): boolean {
  if (!target) return false;
  // kustomize reads a target's name (and kind) as an anchored regular expression.
  const re = (pattern: string, value: string) => new RegExp(`^(?:${pattern})$`).test(value);
  return (!target.kind || re(target.kind, o.kind)) && (!target.name || re(target.name, o.metadata.name));
}

/** Applies JSON 6902 `add`/`replace`/`remove` operations in place. */
export function applyJson6902(
  o: unknown,
  ops: { op: string; path: string; value?: unknown }[],
  source = "patch",
): void {
  for (const op of ops) {
    const parts = op.path.split("/").slice(1).map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
    let node = o as Record<string, unknown>;
    for (const part of parts.slice(0, -1)) {
      node = (Array.isArray(node) ? node[Number(part)] : node[part]) as Record<string, unknown>;
      if (node === undefined) throw new Error(`${source}: path ${op.path} does not exist`);
    }
    const last = parts[parts.length - 1];
    if (Array.isArray(node)) {
      const index = last === "-" ? node.length : Number(last);
      if (op.op === "add") node.splice(index, 0, op.value);
      else if (op.op === "replace") node[index] = op.value;
      else if (op.op === "remove") node.splice(index, 1);
      else throw new Error(`${source}: unsupported op ${op.op}`);
    } else {
      if (op.op === "add" || op.op === "replace") node[last] = op.value;
      else if (op.op === "remove") delete node[last];
      else throw new Error(`${source}: unsupported op ${op.op}`);
    }
  }
}

/** A strategic merge limited to what the simulator reads: objects merge, lists and scalars are replaced. */
export function strategicMerge(base: unknown, patch: unknown): unknown {
  if (patch === null) return undefined;
  if (typeof base !== "object" || base === null || Array.isArray(base)) return patch;
  if (typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = { ...base as Record<string, unknown> };
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    const merged = strategicMerge(out[key], value);
    if (merged === undefined) delete out[key];
    else out[key] = merged;
  }
  return out;
}
