/**
 * The cache at 100k entries, measured in one run and printed side by side with its baselines:
 *
 * - resident memory of the gateway as `deno task serve` runs it (embedded memory store, USE-lite worker, cache
 *   index) holding 100k entries, after GC, measured before the benchmark holds copies of its own; then again at
 *   rest, once V8's memory reducer has run (up to 45 s later);
 * - the index warm-up from the store (100k entries → one HNSW graph; M=16, efConstruction=48);
 * - HNSW search p50/p99 (ef=64) and recall@1 against exact brute force; baseline: the brute-force search.
 *
 * How the 100k entries get there: the way a restarted gateway gets them. The benchmark writes the embedded store's
 * snapshot file into a fresh `AMAS_DATA_DIR` and starts the gateway (`createGateway` + `serveGateway`, default
 * configuration), which loads the snapshot and builds its index from it. Sending 100k chat requests instead would
 * embed 100k prompts (far too long), and filling a store object by hand before the cache exists would measure
 * neither the live path nor the restart path. Vectors are synthetic (1000 topic clusters, normalised, 512-d like
 * USE-lite). Shutting down writes both snapshots back (store and index), which is timed too.
 *
 * Run: `deno run -A --v8-flags=--expose-gc bench/hnsw_100k.ts` (`--n 20000` for a quicker run). About a minute;
 * `--expose-gc` only lets the benchmark collect garbage before it reads the resident memory.
 *
 * @module
 */
import { normalize } from "../src/embed/types.ts";
import { encodeEntry } from "../src/store/codec.ts";
import { SNAPSHOT_FILE } from "../src/store/memory_store.ts";
import { UseLiteEmbedder } from "../src/embed/use_lite.ts";
import { loadConfig } from "../src/config.ts";
import { createGateway } from "../src/wiring.ts";
import { serveGateway } from "../src/server.ts";
import type { CacheEntry } from "../src/store/types.ts";
import { cacheKeys } from "../src/cache/scope.ts";

const arg = (name: string) => Deno.args[Deno.args.indexOf(name) + 1];
const N = Number(Deno.args.includes("--n") ? arg("--n") : 100_000);
const DIM = 512;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

const centresRandom = rng(11);
const centres = Array.from({ length: 1000 }, () => Float32Array.from({ length: DIM }, () => centresRandom() - 0.5));

/** Vector `i`, regenerated identically whenever asked (so the benchmark need not hold a copy while measuring). */
function vector(i: number): number[] {
  const r = rng(1_000_003 * (i + 1));
  const c = centres[Math.floor(r() * centres.length)];
  return normalize(Array.from(c, (x) => x + (r() - 0.5) * 0.6));
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}
const mb = (b: number) => (b / 1024 / 1024).toFixed(0);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

// The scope of a one-turn chat request to gpt-4o-mini from the default tenant and agent: every entry shares it, so
// the index holds one partition of N vectors (one HNSW graph).
const { scopeKey: SCOPE, tenant: TENANT } = (() => {
  const keys = cacheKeys({
    tenant: "default",
    agentId: "default",
    request: { model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] },
  });
  if ("reason" in keys) throw new Error(keys.reason);
  return { scopeKey: keys.scopeKey, tenant: "default" };
})();

/** Writes the store snapshot of N entries into `dir` (run in a child process, so its garbage is not measured). */
async function writeSnapshot(dir: string): Promise<void> {
  const file = await Deno.open(`${dir}/${SNAPSHOT_FILE}`, { write: true, create: true });
  const encoder = new TextEncoder();
  const now = Date.now();
  let lines: string[] = [];
  for (let i = 0; i < N; i++) {
    const entry: CacheEntry = {
      id: `e${i}`,
      tenant: TENANT,
      agentId: "default",
      scopeKey: SCOPE,
      exactKey: `x${i}`,
      semanticText: `How do I configure option ${i} of the billing module for team ${i % 97}?`,
      embedding: vector(i),
      embedder: "use-lite/512",
      response: {
        id: `chatcmpl-${i}`,
        object: "chat.completion",
        created: 1,
        model: "gpt-4o-mini",
        choices: [{
          index: 0,
          message: { role: "assistant", content: `Answer ${i}: `.padEnd(400, "lorem ipsum dolor sit amet ") },
          finish_reason: "stop",
        }],
        usage: { prompt_tokens: 20, completion_tokens: 90, total_tokens: 110 },
      },
      costUsd: 0.0001,
      createdAt: now,
      expiresAt: now + 86_400_000,
    };
    lines.push(encodeEntry(entry));
    if (lines.length === 1000) {
      await file.write(encoder.encode(lines.join("\n") + "\n"));
      lines = [];
    }
  }
  if (lines.length) await file.write(encoder.encode(lines.join("\n") + "\n"));
  file.close();
}

if (Deno.args.includes("--write-snapshot")) {
  await writeSnapshot(arg("--write-snapshot"));
  Deno.exit(0);
}

const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "? ? ?")).split(" ").slice(0, 3).join(" ");
console.log(`cache at ${N} entries, ${DIM}-d, ${navigator.hardwareConcurrency} CPUs, load average ${load}`);

const dataDir = await Deno.makeTempDir({ prefix: "amas-hnsw-bench-" });
const child = await new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", import.meta.filename!, "--n", String(N), "--write-snapshot", dataDir],
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (!child.success) throw new Error("writing the store snapshot failed");

gc();
await new Promise((r) => setTimeout(r, 300));
const before = Deno.memoryUsage().rss;
const t0 = performance.now();
const config = loadConfig({ env: { AMAS_PORT: "0", AMAS_LOG_LEVEL: "error", AMAS_DATA_DIR: dataDir } });
const gateway = await createGateway(config);
const running = serveGateway(gateway);
const cache = gateway.cache!;
await cache.whenReady();
const warmS = (performance.now() - t0) / 1000;
const embedder = cache.embedder as UseLiteEmbedder;
await embedder.ready;
// The worker has embedded prompts like the ones held (its memory grows with the largest batch it has seen).
await embedder.embed(Array.from({ length: 32 }, (_, i) => `How do I configure option ${i} of the billing module?`));
gc();
await new Promise((r) => setTimeout(r, 300));
gc();
const mem = Deno.memoryUsage();
console.log(
  `\ngateway as \`deno task serve\` runs it (memory store, USE-lite worker, cache index) holding ${cache.size} entries`,
);
console.log(
  `   resident memory ${mb(mem.rss)} MB (process before: ${mb(before)} MB; V8 heap used ${mb(mem.heapUsed)} MB of ${
    mb(mem.heapTotal)
  } MB; external ${mb(mem.external)} MB)   target <= 600 MB`,
);
// At rest: some seconds after the last burst of allocation V8's memory reducer runs a compacting GC that also
// shrinks the young generation (which grows back under load: 2 x 8 MB semi-spaces per isolate). A gateway idle after
// its warm-up sits at this figure; the one above (read 0.3 s after the warm-up) stays the reference figure.
const quiet = performance.now();
let rest = Deno.memoryUsage();
let reduced = -1;
while (performance.now() - quiet < 45_000) {
  await new Promise((r) => setTimeout(r, 1000));
  rest = Deno.memoryUsage();
  if (reduced < 0 && rest.heapTotal < mem.heapTotal - 4 * 1024 * 1024) reduced = performance.now();
  // A little longer, for the embedder worker's heap (its own reducer).
  if (reduced >= 0 && performance.now() - reduced > 3000) break;
}
console.log(
  reduced < 0
    ? `   at rest: V8's memory reducer did not run within 45 s (resident ${mb(rest.rss)} MB)`
    : `   at rest (V8's memory reducer ran ${
      ((reduced - quiet) / 1000).toFixed(0)
    } s after the reading above): resident ${mb(rest.rss)} MB (V8 heap used ${mb(rest.heapUsed)} MB of ${
      mb(rest.heapTotal)
    } MB)`,
);
console.log(
  `   start from the store snapshot to a warm index: ${warmS.toFixed(1)} s (${(N / warmS).toFixed(0)} entries/s)`,
);

// Search: queries near stored vectors (a paraphrase lands near its original), never identical.
const data = Array.from({ length: N }, (_, i) => Float32Array.from(vector(i)));
const r = rng(5);
const queries = Array.from({ length: 1000 }, () => {
  const base = data[Math.floor(r() * N)];
  return normalize(Array.from(base, (x) => x + (r() - 0.5) * 0.02));
});
const index = cache.index;
const hnswMs: number[] = [];
const results: string[] = [];
for (const q of queries) {
  const t = performance.now();
  const found = index.search(SCOPE, q, 1);
  hnswMs.push(performance.now() - t);
  results.push(found[0]?.id ?? "");
}
const bruteMs: number[] = [];
let correct = 0;
const checked = 200;
for (let qi = 0; qi < checked; qi++) {
  const q = Float32Array.from(queries[qi]);
  const t = performance.now();
  let best = -2, bestId = -1;
  for (let i = 0; i < N; i++) {
    const v = data[i];
    let s = 0;
    for (let j = 0; j < DIM; j++) s += q[j] * v[j];
    if (s > best) [best, bestId] = [s, i];
  }
  bruteMs.push(performance.now() - t);
  if (results[qi] === `e${bestId}`) correct++;
}
console.log(`\nk-NN search (k=1) in one scope of ${N} vectors`);
console.log("                           p50 ms    p99 ms   recall@1");
console.log(
  `   HNSW (ef=64)          ${pct(hnswMs, 0.5).toFixed(3).padStart(8)}  ${pct(hnswMs, 0.99).toFixed(3).padStart(8)}   ${
    (correct / checked).toFixed(3)
  }    targets p99 <= 1 ms, recall@1 >= 0.99 (vs brute force, ${checked} queries)`,
);
console.log(
  `   baseline: brute force ${pct(bruteMs, 0.5).toFixed(1).padStart(8)}  ${
    pct(bruteMs, 0.99).toFixed(1).padStart(8)
  }   1.000`,
);
console.log(`   index: ${JSON.stringify(index.stats())}`);
const t1 = performance.now();
await running.shutdown();
console.log(`\nshutdown (writes the store and index snapshots): ${((performance.now() - t1) / 1000).toFixed(1)} s`);
await Deno.remove(dataDir, { recursive: true });
