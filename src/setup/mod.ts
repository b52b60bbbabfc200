/**
 * `deno task setup`: makes a fresh clone runnable. Dependencies are installed by the task itself
 * (`deno install --frozen`); this script builds the native hnswlib-node addon, which has a binding.gyp but no
 * install script, so no package manager builds it. Idempotent: a second run only checks that the addon loads.
 *
 * @module
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

/** Returns the folder of the installed hnswlib-node package. */
function hnswlibFolder(): string {
  return dirname(require.resolve("hnswlib-node/package.json"));
}

/** Whether the addon was built and loads in this runtime. */
function addonLoads(folder: string): boolean {
  try {
    Deno.statSync(join(folder, "build", "Release", "addon.node"));
  } catch {
    return false;
  }
  try {
    const lib = require("hnswlib-node");
    new lib.HierarchicalNSW("cosine", 2).initIndex(1);
    return true;
  } catch {
    return false;
  }
}

/** Builds the addon with the node-gyp that deno.json pins, against the machine's Node headers. */
async function buildAddon(folder: string): Promise<void> {
  const nodeGyp = require.resolve("node-gyp/bin/node-gyp.js");
  const args = [nodeGyp, "rebuild", "--loglevel=warn"];
  // Debian's nodejs ships its headers under /usr/include/node; building against them needs no download.
  if (await exists("/usr/include/node/node_api.h")) args.push("--nodedir=/usr");
  const started = performance.now();
  const { code } = await new Deno.Command("node", { args, cwd: folder, stdout: "inherit", stderr: "inherit" })
    .output();
  if (code !== 0) {
    throw new Error(
      "building hnswlib-node failed: install python3, make and g++ (apt-get install -y python3 make g++) and rerun `deno task setup`",
    );
  }
  console.error(`setup: built hnswlib-node in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

if (import.meta.main) {
  const folder = hnswlibFolder();
  if (!addonLoads(folder)) await buildAddon(folder);
  if (!addonLoads(folder)) {
    console.error("setup: hnswlib-node was built but does not load; see the build output above");
    Deno.exit(1);
  }
}
