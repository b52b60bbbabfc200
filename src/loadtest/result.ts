/**
 * The result of a run as written to `<out>/<scenario>-<time>.json`: totals, percentiles, per-tag results, the
 * per-second timeline, SLO verdicts and, with `--baseline`, the comparison. The same file is a baseline for a
 * later run.
 *
 * @module
 */
import { z } from "zod";
import type { LatencySummary } from "./histogram.ts";
import type { TagStats, WindowStats } from "./recorder.ts";
import type { Scenario } from "./scenario.ts";

/** One SLO check. */
export interface SloCheck {
  /** e.g. `p95Ms`. */
  name: string;
  /** Human-readable: `p95 latency ≤ 800 ms`. */
  label: string;
  threshold: number;
  actual: number;
  passed: boolean;
}

/** One metric compared with the baseline. */
export interface MetricComparison {
  metric: string;
  /** Whether higher values are worse (latency, errors) or better (throughput). */
  higherIsWorse: boolean;
  windowsBaseline: number;
  windowsCurrent: number;
  baselineMedian: number;
  currentMedian: number;
  /** currentMedian / baselineMedian. */
  ratio: number;
  /** One-sided Mann-Whitney p-value in the "worse" direction. */
  pValue: number;
  significant: boolean;
  beyondTolerance: boolean;
  regression: boolean;
}

/** The comparison with a baseline. */
export interface Comparison {
  baselineFile: string;
  baselineStartedAt: string;
  alpha: number;
  tolerance: number;
  metrics: MetricComparison[];
  regressions: string[];
  passed: boolean;
}

/** A run's result. */
export interface RunResult {
  version: 1;
  scenario: string;
  description: string;
  target: string;
  /** `embedded` when `load run` started the gateway itself. */
  targetKind: "embedded" | "external";
  startedAt: string;
  durationS: number;
  loadModel: "open" | "closed";
  config: Scenario;
  totals: {
    started: number;
    requests: number;
    ok: number;
    errors: number;
    dropped: number;
    interrupted: number;
    rps: number;
    errorRate: number;
    droppedRate: number;
    cacheHitRate: number;
    errorKinds: Record<string, number>;
  };
  /** From the intended send time (open) or the send (closed). */
  latencyMs: LatencySummary;
  /** From the actual write of the request. */
  serviceMs: LatencySummary;
  ttftMs: LatencySummary;
  /** Gateway's own time and upstream time from `Server-Timing`. */
  gatewayMs: LatencySummary;
  upstreamMs: LatencySummary;
  tags: Record<string, TagStats>;
  timeline: WindowStats[];
  /** The overall latency histogram, HdrHistogram compressed base64 (microseconds). */
  histogram: string;
  actions: { atS: number; sim: Record<string, unknown>; ok: boolean; note?: string }[];
  slo: { passed: boolean; checks: SloCheck[] };
  comparison?: Comparison;
  passed: boolean;
}

const windowSchema = z.object({
  t: z.number(),
  requests: z.number(),
  ok: z.number(),
  errors: z.number(),
  dropped: z.number(),
  rps: z.number(),
  p50: z.number(),
  p95: z.number(),
  p99: z.number(),
  hitRate: z.number().nullable(),
  gatewayP50: z.number().nullable(),
  ttftP50: z.number().nullable(),
});

/** What a baseline file must contain (checked before comparing, so a wrong file gives a clear error). */
export const baselineSchema = z.object({
  version: z.literal(1),
  scenario: z.string(),
  startedAt: z.string(),
  loadModel: z.enum(["open", "closed"]),
  timeline: z.array(windowSchema).min(1),
});

/** A parsed baseline. */
export type Baseline = z.infer<typeof baselineSchema>;

/** Reads and checks a baseline result file. */
export async function readBaseline(path: string): Promise<Baseline> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new Error(`cannot read the baseline ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`the baseline ${path} is not JSON: pass a result file written by 'load run'`);
  }
  const parsed = baselineSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`the baseline ${path} is not a load-run result (${parsed.error.issues[0].path.join(".")})`);
  }
  return parsed.data;
}
