/**
 * `deno task scale record`: samples the trigger queries of a ScaledObject from a real Prometheus over a time
 * range (`/api/v1/query_range`) into a timeline the simulator replays. Each query must return one series, as KEDA
 * requires; a step where it returns nothing is recorded as `null` (a failed read, which exercises the fallback).
 *
 * @module
 */
import type { ScalerSpec } from "./scaler_spec.ts";
import type { Sample, Timeline } from "./timeline.ts";

/** What to record. */
export interface RecordOptions {
  /** Prometheus base URL, e.g. `http://127.0.0.1:9090`. */
  prometheus: string;
  start: Date;
  end: Date;
  stepSeconds: number;
  /** Extra queries by trigger name (e.g. `cpu` → total cores), for triggers without a query of their own. */
  queries?: Record<string, string>;
  /** The served request rate; default: the query of the trigger that reads `*requests_total`. */
  requestRateQuery?: string;
  name?: string;
}

/** Runs one range query; returns timestamp (s) → value for its single series. */
export async function queryRange(
  prometheus: string,
  query: string,
  range: { start: Date; end: Date; stepSeconds: number },
): Promise<Map<number, number>> {
  const body = new URLSearchParams({
    query,
    start: String(range.start.getTime() / 1000),
    end: String(range.end.getTime() / 1000),
    step: String(range.stepSeconds),
  });
  const res = await fetch(`${prometheus.replace(/\/+$/, "")}/api/v1/query_range`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body,
  });
  const json = await res.json() as {
    status: string;
    error?: string;
    data?: { result: { metric: Record<string, string>; values: [number, string][] }[] };
  };
  if (json.status !== "success" || !json.data) {
    throw new Error(`prometheus rejected the query (${res.status}): ${json.error ?? "no data"}\n  query: ${query}`);
  }
  const series = json.data.result;
  if (series.length > 1) {
    throw new Error(
      `the query returns ${series.length} series; KEDA needs one (wrap it in sum(...))\n  query: ${query}`,
    );
  }
  const out = new Map<number, number>();
  for (const [ts, v] of series[0]?.values ?? []) {
    const n = Number(v);
    if (Number.isFinite(n)) out.set(Math.round(ts), n);
  }
  return out;
}

/** Records the trigger queries of `spec` over a time range into a timeline. */
export async function recordTimeline(spec: ScalerSpec, options: RecordOptions): Promise<Timeline> {
  const queries: Record<string, string> = {};
  for (const t of spec.triggers) if (t.query) queries[t.name] = t.query;
  Object.assign(queries, options.queries ?? {});
  if (Object.keys(queries).length === 0) {
    throw new Error(`${spec.name} has no prometheus trigger; pass --query name=PROMQL for the triggers to record`);
  }
  const rateQuery = options.requestRateQuery ??
    spec.triggers.find((t) => t.query && /requests_total/.test(t.query) && !/bucket/.test(t.query))?.query;
  // Whole seconds, so the timestamps Prometheus returns are exactly start + k × step.
  const t0 = Math.ceil(options.start.getTime() / 1000);
  const t1 = t0 +
    Math.floor((Math.floor(options.end.getTime() / 1000) - t0) / options.stepSeconds) * options.stepSeconds;
  const range = { start: new Date(t0 * 1000), end: new Date(t1 * 1000), stepSeconds: options.stepSeconds };
  const results = new Map<string, Map<number, number>>();
  for (const [name, query] of Object.entries(queries)) {
    results.set(name, await queryRange(options.prometheus, query, range));
  }
  const rates = rateQuery ? await queryRange(options.prometheus, rateQuery, range) : undefined;

  const samples: Sample[] = [];
  for (let ts = t0; ts <= t1; ts += options.stepSeconds) {
    const values: Record<string, number | null> = {};
    for (const [name, series] of results) values[name] = series.get(ts) ?? null;
    const sample: Sample = { t: ts - t0, values };
    const rate = rates?.get(ts);
    if (rate !== undefined) sample.requestRate = rate;
    samples.push(sample);
  }
  return {
    version: 1,
    name: options.name ?? `${spec.name}-${new Date(t0 * 1000).toISOString()}`,
    source: "recorded",
    description: `recorded from ${options.prometheus} every ${options.stepSeconds} s from ` +
      `${options.start.toISOString()} to ${options.end.toISOString()}`,
    queries,
    samples,
  };
}
