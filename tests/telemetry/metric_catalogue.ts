/**
 * The metrics the code creates, found by scanning `src/` for OpenTelemetry instrument creation, with the names
 * Prometheus sees (counters get `_total`, histograms `_bucket`/`_sum`/`_count`). Tests use it to check that every
 * PromQL query in k8s/ names real metrics and that docs/METRICS.md lists every metric.
 *
 * @module
 */
import { join } from "node:path";

/** One instrument as created in the source. */
export interface InstrumentRef {
  /** The name passed to `create…` (no `_total`). */
  name: string;
  /** The OpenTelemetry instrument kind. */
  instrument: string;
  /** `counter`, `histogram` or `gauge` as Prometheus exposes it. */
  type: "counter" | "histogram" | "gauge";
  /** Source file relative to the repository. */
  file: string;
}

const ROOT = new URL("../../", import.meta.url).pathname;
const CREATE =
  /create(Counter|Histogram|UpDownCounter|ObservableGauge|Gauge|ObservableCounter|ObservableUpDownCounter)\(\s*["'`]([a-z_:][a-z0-9_:]*)["'`]/g;

/** Scans `src/` (recursively) for instrument creations. */
export async function scanInstruments(dir = join(ROOT, "src")): Promise<InstrumentRef[]> {
  const out: InstrumentRef[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...await scanInstruments(path));
    else if (entry.name.endsWith(".ts")) {
      const text = await Deno.readTextFile(path);
      for (const m of text.matchAll(CREATE)) {
        const instrument = m[1];
        const type = instrument === "Histogram"
          ? "histogram"
          : instrument === "Counter" || instrument === "ObservableCounter"
          ? "counter"
          : "gauge";
        out.push({ name: m[2], instrument, type, file: path.slice(ROOT.length) });
      }
    }
  }
  return out;
}

/** Every series name Prometheus can see for these instruments. */
export function exposedNames(instruments: InstrumentRef[]): Set<string> {
  const names = new Set<string>();
  for (const i of instruments) {
    if (i.type === "counter") names.add(`${i.name}_total`);
    else if (i.type === "histogram") { for (const s of ["_bucket", "_sum", "_count"]) names.add(i.name + s); }
    else names.add(i.name);
  }
  return names;
}

/** PromQL functions and keywords that look like identifiers but are not metric names. */
const PROMQL_WORDS = new Set([
  "sum",
  "avg",
  "min",
  "max",
  "count",
  "rate",
  "irate",
  "increase",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "or",
  "and",
  "unless",
  "bool",
  "offset",
  "vector",
  "scalar",
  "histogram_quantile",
  "clamp_min",
  "clamp_max",
  "abs",
  "topk",
  "bottomk",
  "label_values",
  "time",
  "le",
  "absent",
  "delta",
  "deriv",
  "avg_over_time",
  "max_over_time",
  "min_over_time",
  "sum_over_time",
  "quantile_over_time",
  "last_over_time",
  "humanize",
]);

/**
 * The metric names a PromQL expression selects: identifiers in selector position (followed by `{`, `[`, a space,
 * an operator or the end), excluding functions, keywords, label names inside braces, and string contents.
 */
export function metricNamesIn(promql: string): string[] {
  // Drop strings and label matchers' braces content, then durations like [5m].
  const stripped = promql
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "{}")
    .replace(/\[[^\]]*\]/g, "[]")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(?!\s*\()/g)) {
    const word = m[1];
    if (PROMQL_WORDS.has(word) || /^\d/.test(word)) continue;
    // Numbers in exponent form (1e3) and Grafana variables never start with a letter here; what is left are names.
    names.add(word);
  }
  return [...names];
}
