/**
 * CONVENTIONS.md: every number in the manifests carries a comment saying why. A lint, not a proof: a number passes
 * when a comment sits on its line or in the comment lines just above it or above its enclosing keys (up to a blank
 * line). Dashboards (JSON) are exempt.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { K8S_DIR } from "./kustomize.ts";

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...await yamlFiles(p));
    else if (e.name.endsWith(".yaml")) out.push(p);
  }
  return out;
}

/** Lines holding a numeric value with no explaining comment nearby. */
export function uncommentedNumbers(text: string): string[] {
  const lines = text.split("\n");
  const out: string[] = [];
  lines.forEach((line, i) => {
    const m = /^(\s*)(- )?[\w.-]+:\s*"?(\d[\d.]*)(m|Mi|Gi|mb|%|s)?"?\s*(#.*)?$/.exec(line);
    if (!m || m[5]) return;
    const indent = m[1].length;
    for (let j = i - 1; j >= 0 && j >= i - 12; j--) {
      const l = lines[j];
      if (l.trim().startsWith("#")) return;
      if (l.trim() === "") break;
      if (l.length - l.trimStart().length < indent - 4) break;
    }
    out.push(`${i + 1}: ${line.trim()}`);
  });
  return out;
}

Deno.test("k8s: every number in the manifests has a comment saying why", async () => {
  const missing: string[] = [];
  for (const f of await yamlFiles(K8S_DIR)) {
    for (const l of uncommentedNumbers(await Deno.readTextFile(f))) missing.push(`${f.slice(K8S_DIR.length + 1)}:${l}`);
  }
  assert.deepEqual(missing, []);
});

Deno.test("k8s: the comment lint flags a bare number and accepts an explained one", () => {
  assert.deepEqual(uncommentedNumbers("spec:\n  replicas: 3\n"), ["2: replicas: 3"]);
  assert.deepEqual(uncommentedNumbers("spec:\n  # three: one per zone\n  replicas: 3\n"), []);
  assert.deepEqual(uncommentedNumbers("spec:\n  replicas: 3 # one per zone\n"), []);
});
