/**
 * Verdicts: SLO checks against a run's totals, and the regression rule against a baseline run.
 *
 * The regression rule compares per-window values (one per second) of each metric, not two single numbers: a
 * metric regressed only when the current windows are worse than the baseline windows with statistical
 * significance (one-sided Mann-Whitney U test, `alpha`) AND the median moved by more than the tolerance. One
 * noisy second cannot fail a run, and a tiny but consistent shift (significant, yet within tolerance) does not
 * either.
 *
 * @module
 */
import type { Slo } from "./scenario.ts";
import type { Baseline, Comparison, MetricComparison, RunResult, SloCheck } from "./result.ts";
import type { WindowStats } from "./recorder.ts";
import { mannWhitneyGreater, median } from "./stats.ts";

/** Checks every threshold the scenario sets. */
export function evaluateSlo(
  slo: Slo,
  result: Pick<RunResult, "latencyMs" | "totals" | "ttftMs"> & Partial<Pick<RunResult, "tags">>,
): { passed: boolean; checks: SloCheck[] } {
  const checks: SloCheck[] = [];
  const max = (name: string, label: string, threshold: number | undefined, actual: number) => {
    if (threshold !== undefined) checks.push({ name, label, threshold, actual, passed: actual <= threshold });
  };
  const min = (name: string, label: string, threshold: number | undefined, actual: number) => {
    if (threshold !== undefined) checks.push({ name, label, threshold, actual, passed: actual >= threshold });
  };
  // A run without a single answer has no latency to speak of; percentiles of nothing must not pass.
  const noAnswers = result.totals.requests === 0;
  const latency = (v: number) => noAnswers ? Number.POSITIVE_INFINITY : v;
  max("p50Ms", "p50 latency (ms) ≤", slo.p50Ms, latency(result.latencyMs.p50));
  max("p95Ms", "p95 latency (ms) ≤", slo.p95Ms, latency(result.latencyMs.p95));
  max("p99Ms", "p99 latency (ms) ≤", slo.p99Ms, latency(result.latencyMs.p99));
  max("maxErrorRate", "error rate ≤", slo.maxErrorRate, noAnswers ? 1 : result.totals.errorRate);
  min("minRps", "throughput (req/s) ≥", slo.minRps, result.totals.rps);
  min("minCacheHitRate", "cache hit rate ≥", slo.minCacheHitRate, result.totals.cacheHitRate);
  max("maxDroppedRate", "dropped arrivals ≤", slo.maxDroppedRate, result.totals.droppedRate);
  if (slo.ttftP95Ms !== undefined) {
    const ttft = result.ttftMs.count === 0 ? Number.POSITIVE_INFINITY : result.ttftMs.p95;
    max("ttftP95Ms", "p95 time to first token (ms) ≤", slo.ttftP95Ms, ttft);
  }
  for (const [tag, limits] of Object.entries(slo.tags ?? {})) {
    const stats = result.tags?.[tag];
    // A tag that never occurred has no traffic to protect; its thresholds cannot fail, but say so in the label.
    const seen = stats !== undefined && stats.count > 0;
    const suffix = seen ? "" : " (no requests)";
    const lat = (v: number) => seen ? v : 0;
    max(`${tag}.p50Ms`, `${tag} p50 latency (ms)${suffix} ≤`, limits.p50Ms, lat(stats?.latencyMs.p50 ?? 0));
    max(`${tag}.p95Ms`, `${tag} p95 latency (ms)${suffix} ≤`, limits.p95Ms, lat(stats?.latencyMs.p95 ?? 0));
    max(`${tag}.p99Ms`, `${tag} p99 latency (ms)${suffix} ≤`, limits.p99Ms, lat(stats?.latencyMs.p99 ?? 0));
    max(
      `${tag}.maxErrorRate`,
      `${tag} error rate${suffix} ≤`,
      limits.maxErrorRate,
      seen ? stats.errors / stats.count : 0,
    );
  }
  for (const c of checks) if (!Number.isFinite(c.actual)) c.actual = -1;
  return { passed: checks.every((c) => c.passed), checks };
}

/** Options of {@linkcode compareRuns}. */
export interface CompareOptions {
  /** Significance level of the one-sided test. */
  alpha?: number;
  /** Relative change of the median that counts as material (0.1 = 10 %; ×1.5 for p95, ×2 for p99). */
  tolerance?: number;
  /** Absolute change of the per-window error rate that counts as material. */
  errorRateTolerance?: number;
}

/**
 * The windows worth comparing: the first (warm-up) is skipped when enough remain, and windows with fewer than
 * half the typical number of requests (ramp edges, the partial last second) are left out.
 */
export function steadyWindows(timeline: readonly WindowStats[]): WindowStats[] {
  const busy = timeline.filter((w) => w.requests > 0);
  if (busy.length === 0) return [];
  const typical = median(busy.map((w) => w.requests));
  let kept = busy.filter((w) => w.requests >= typical / 2);
  if (kept.length > 3 && kept[0] === busy[0]) kept = kept.slice(1);
  return kept;
}

interface MetricDef {
  metric: string;
  higherIsWorse: boolean;
  value(w: WindowStats): number | null;
  /** Absolute change below which a difference is never material (tiny values are all noise). */
  floor: number;
  /**
   * Multiplier of the tolerance: tail percentiles of a one-second window rest on a handful of requests and move
   * more from run to run than medians do, so they need a larger change to count.
   */
  toleranceScale?: number;
  absoluteTolerance?: boolean;
}

const METRICS: MetricDef[] = [
  { metric: "latency_p50_ms", higherIsWorse: true, value: (w) => w.p50, floor: 0.5 },
  { metric: "latency_p95_ms", higherIsWorse: true, value: (w) => w.p95, floor: 0.5, toleranceScale: 1.5 },
  { metric: "latency_p99_ms", higherIsWorse: true, value: (w) => w.p99, floor: 0.5, toleranceScale: 2 },
  // The gateway's own time is a millisecond or two; scheduler noise on a busy machine is of the same order.
  { metric: "gateway_p50_ms", higherIsWorse: true, value: (w) => w.gatewayP50, floor: 1, toleranceScale: 2 },
  { metric: "ttft_p50_ms", higherIsWorse: true, value: (w) => w.ttftP50, floor: 0.5 },
  {
    metric: "error_rate",
    higherIsWorse: true,
    value: (w) => w.requests === 0 ? null : w.errors / w.requests,
    floor: 0,
    absoluteTolerance: true,
  },
  { metric: "throughput_rps", higherIsWorse: false, value: (w) => w.rps, floor: 0.5 },
];

function values(windows: readonly WindowStats[], def: MetricDef): number[] {
  const out: number[] = [];
  for (const w of windows) {
    const v = def.value(w);
    if (v !== null && Number.isFinite(v)) out.push(v);
  }
  return out;
}

/** Compares a run's timeline with a baseline's; a metric regresses when significant AND beyond tolerance. */
export function compareRuns(
  baseline: Baseline & { file?: string },
  current: readonly WindowStats[],
  options: CompareOptions = {},
): Comparison {
  const alpha = options.alpha ?? 0.05;
  const tolerance = options.tolerance ?? 0.1;
  const errorTolerance = options.errorRateTolerance ?? 0.01;
  const before = steadyWindows(baseline.timeline);
  const after = steadyWindows(current);
  const metrics: MetricComparison[] = [];
  for (const def of METRICS) {
    const a = values(before, def);
    const b = values(after, def);
    if (a.length < 2 || b.length < 2) continue;
    const baselineMedian = median(a);
    const currentMedian = median(b);
    const test = def.higherIsWorse ? mannWhitneyGreater(a, b) : mannWhitneyGreater(b, a);
    const worseBy = def.higherIsWorse ? currentMedian - baselineMedian : baselineMedian - currentMedian;
    const beyondTolerance = def.absoluteTolerance
      ? worseBy > errorTolerance
      : worseBy > Math.max(def.floor, tolerance * (def.toleranceScale ?? 1) * Math.abs(baselineMedian));
    const significant = test.p < alpha;
    const ratio = baselineMedian === 0 ? (currentMedian === 0 ? 1 : 999) : currentMedian / baselineMedian;
    metrics.push({
      metric: def.metric,
      higherIsWorse: def.higherIsWorse,
      windowsBaseline: a.length,
      windowsCurrent: b.length,
      baselineMedian: round(baselineMedian),
      currentMedian: round(currentMedian),
      ratio: round(ratio),
      pValue: Number(test.p.toPrecision(4)),
      significant,
      beyondTolerance,
      regression: significant && beyondTolerance,
    });
  }
  const regressions = metrics.filter((m) => m.regression).map((m) => m.metric);
  return {
    baselineFile: baseline.file ?? "",
    baselineStartedAt: baseline.startedAt,
    alpha,
    tolerance,
    metrics,
    regressions,
    passed: regressions.length === 0,
  };
}

function round(v: number): number {
  return Math.round(v * 10000) / 10000;
}
