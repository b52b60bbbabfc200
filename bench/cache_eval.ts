/**
 * `deno task cache-eval`: precision and recall of the semantic cache's hit decision on the labelled pairs in
 * `tests/cache/eval_pairs.json`, embedding with the real USE-lite embedder. For each pair the cached prompt's
 * answer is served to the query when cosine similarity ≥ threshold (and, with the verifier, when the verifier
 * accepts). Prints per category and overall, at the default threshold with and without the verifier, and a
 * threshold sweep with the verifier; then one summary line for each of the other sets (dev, held-out, held-out 2,
 * dev 2).
 *
 * Options: `--file <pairs.json>` (default the tuning set; `tests/cache/eval_pairs_holdout.json` is the held-out
 * set), `--threshold 0.85`, `--show-errors` (lists wrong decisions), `--json` (machine-readable summary).
 *
 * @module
 */
import { UseLiteEmbedder } from "../src/embed/use_lite.ts";
import { dot } from "../src/embed/types.ts";
import { RuleVerifier } from "../src/cache/verifier.ts";

interface Pair {
  category: string;
  label: "hit" | "miss";
  query: string;
  cached: string;
}

interface Counts {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

const args = Deno.args;
const threshold = Number(args[args.indexOf("--threshold") + 1]) || 0.85;
const showErrors = args.includes("--show-errors");
const asJson = args.includes("--json");
const fileArg = args.indexOf("--file");
const file = fileArg >= 0 ? args[fileArg + 1] : new URL("../tests/cache/eval_pairs.json", import.meta.url);
const { pairs } = JSON.parse(await Deno.readTextFile(file)) as { pairs: Pair[] };
// Without --file, the other sets are summarised at the end (same embedder run).
const others: [string, Pair[]][] = fileArg >= 0 ? [] : await Promise.all(
  ["eval_pairs_dev.json", "eval_pairs_holdout.json", "eval_pairs_holdout2.json", "eval_pairs_dev2.json"].map(async (
    name,
  ) =>
    [
      name,
      (JSON.parse(await Deno.readTextFile(new URL(`../tests/cache/${name}`, import.meta.url))) as { pairs: Pair[] })
        .pairs,
    ] as [string, Pair[]]
  ),
);

const embedder = new UseLiteEmbedder({ workers: 1 });
const texts = [...new Set([...pairs, ...others.flatMap(([, p]) => p)].flatMap((p) => [p.query, p.cached]))];
const started = performance.now();
const vectors = await embedder.embed(texts);
const embedMs = performance.now() - started;
await embedder.close();
const vectorOf = new Map(texts.map((t, i) => [t, vectors[i]]));
const verifier = new RuleVerifier();

const score = (list: Pair[]) =>
  list.map((p) => {
    const similarity = dot(vectorOf.get(p.query)!, vectorOf.get(p.cached)!);
    const verdict = verifier.verify(p.query, p.cached);
    return { ...p, similarity, verdict };
  });
const scored = score(pairs);

function count(t: number, useVerifier: boolean, rows = scored): Counts {
  const c: Counts = { tp: 0, fp: 0, fn: 0, tn: 0 };
  for (const r of rows) {
    const served = r.similarity >= t && (!useVerifier || r.verdict.ok);
    if (r.label === "hit") served ? c.tp++ : c.fn++;
    else served ? c.fp++ : c.tn++;
  }
  return c;
}

const precision = (c: Counts) => (c.tp + c.fp === 0 ? NaN : c.tp / (c.tp + c.fp));
const recall = (c: Counts) => (c.tp + c.fn === 0 ? NaN : c.tp / (c.tp + c.fn));
const fmt = (x: number) => (Number.isNaN(x) ? "  -  " : x.toFixed(3));

const categories = [...new Set(scored.map((r) => r.category))];
if (asJson) {
  const summary = Object.fromEntries(
    [...categories, "ALL"].map((cat) => {
      const rows = cat === "ALL" ? scored : scored.filter((r) => r.category === cat);
      const without = count(threshold, false, rows), withV = count(threshold, true, rows);
      return [cat, {
        pairs: rows.length,
        threshold_only: { precision: precision(without), recall: recall(without), ...without },
        with_verifier: { precision: precision(withV), recall: recall(withV), ...withV },
      }];
    }),
  );
  console.log(JSON.stringify({ threshold, summary }, null, 1));
  Deno.exit(0);
}

console.log(
  `semantic cache evaluation: ${pairs.length} labelled pairs (${scored.filter((r) => r.label === "hit").length} ` +
    `should hit, ${scored.filter((r) => r.label === "miss").length} must miss), embedder use-lite, ` +
    `threshold ${threshold} (embedded ${texts.length} texts in ${embedMs.toFixed(0)} ms)\n`,
);
console.log(
  "category            pairs  hit/miss | threshold only: precision recall  wrong-hits | + verifier: precision recall  wrong-hits",
);
for (const cat of [...categories, "ALL"]) {
  const rows = cat === "ALL" ? scored : scored.filter((r) => r.category === cat);
  const a = count(threshold, false, rows), b = count(threshold, true, rows);
  const hits = rows.filter((r) => r.label === "hit").length;
  console.log(
    `${cat.padEnd(18)} ${String(rows.length).padStart(6)}  ${String(hits).padStart(3)}/${
      String(rows.length - hits).padEnd(4)
    } |                 ${fmt(precision(a))}    ${fmt(recall(a))}  ${String(a.fp).padStart(5)}      |` +
      `              ${fmt(precision(b))}    ${fmt(recall(b))}  ${String(b.fp).padStart(5)}`,
  );
}

console.log("\nthreshold sweep (all pairs):");
console.log("threshold | threshold only: precision recall | + verifier: precision recall");
for (const t of [0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]) {
  const a = count(t, false), b = count(t, true);
  console.log(
    `   ${t.toFixed(2)}   |                 ${fmt(precision(a))}    ${fmt(recall(a))} |              ${
      fmt(precision(b))
    }    ${fmt(recall(b))}`,
  );
}

const reasons = new Map<string, number>();
for (const r of scored) if (!r.verdict.ok) reasons.set(r.verdict.reason, (reasons.get(r.verdict.reason) ?? 0) + 1);
console.log(
  `\nverifier rejections by reason (all pairs, any similarity): ${JSON.stringify(Object.fromEntries(reasons))}`,
);

for (const [name, list] of others) {
  const rows = score(list);
  const a = count(threshold, false, rows), b = count(threshold, true, rows);
  const hits = rows.filter((r) => r.label === "hit").length;
  console.log(
    `\n${name}: ${rows.length} pairs (${hits} hit / ${rows.length - hits} miss) at ${threshold}: threshold only ` +
      `precision ${fmt(precision(a))} recall ${fmt(recall(a))} (${a.fp} wrong hits); + verifier precision ` +
      `${fmt(precision(b))} recall ${fmt(recall(b))} (${b.fp} wrong hits)`,
  );
}

if (showErrors) {
  console.log("\nwrong decisions with the verifier at the threshold:");
  for (const r of scored) {
    const served = r.similarity >= threshold && r.verdict.ok;
    if (served !== (r.label === "hit")) {
      const why = r.verdict.ok ? "accepted" : `${r.verdict.reason}: ${r.verdict.detail}`;
      console.log(
        `  [${r.category}/${r.label}] sim=${r.similarity.toFixed(3)} ${why}\n     q: ${r.query}\n     c: ${r.cached}`,
      );
    }
  }
}
