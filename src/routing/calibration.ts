/**
 * Calibration: measures each configured deployment with a bounded number of streamed requests (time to first
 * token, decode speed, whole-call latency, error rate) and turns the measurements into suggestions: routing
 * weights, latency targets, and a `simProfile` per deployment so that a measured upstream can be replayed by a
 * simulated deployment (`simProfile: "<results.json>#<deployment>"`). The results file is JSON; `renderMarkdown`
 * writes the human summary.
 *
 * @module
 */
import type { ChatRequest } from "../gateway/chat_schema.ts";
import { upstreamOutcome } from "../gateway/direct_upstream.ts";
import type { DeploymentConfig, SimModelConfig } from "../providers/config.ts";
import type { ProviderRegistry } from "../providers/registry.ts";
import type { Provider } from "../providers/types.ts";
import type { RoutingConfig } from "./config.ts";

/** How much load a calibration run may send. */
export interface CalibrationOptions {
  /** Requests per deployment. */
  requests: number;
  /** Requests in flight at once per deployment. */
  concurrency: number;
  /** `max_tokens` of each request (bounds cost on paid endpoints). */
  maxTokens: number;
  /** Per-request timeout, ms. */
  timeoutMs: number;
  /** Only these deployments (all when empty). */
  only?: string[];
  /** Called after each finished request. */
  onProgress?: (deployment: string, done: number, total: number) => void;
}

/** Percentiles of a sample, ms (or tokens/s). */
export interface Summary {
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

/** What was measured on one deployment. */
export interface DeploymentCalibration {
  type: string;
  upstreamModel: string;
  requests: number;
  ok: number;
  errors: number;
  errorRate: number;
  /** Failures by kind (`error`, `timeout`, `rate_limited`, `connect_error`, `client_error`). */
  errorKinds: Record<string, number>;
  /** Time to first token (first non-empty content chunk), ms. */
  ttftMs: Summary | null;
  /** Whole streamed call, ms. */
  totalMs: Summary | null;
  /** Decode speed after the first token, tokens per second. */
  tokensPerSecond: Summary | null;
  completionTokensMean: number | null;
  /** A simulated model profile that replays these measurements. */
  simProfile: SimModelConfig | null;
  /** Suggested `weight` (relative capacity: successful calls per second at equal concurrency, fastest = 100). */
  suggestedWeight: number;
}

/** A calibration run's results (the JSON results file). */
export interface CalibrationReport {
  version: 1;
  createdAt: string;
  settings: { requests: number; concurrency: number; maxTokens: number; timeoutMs: number };
  deployments: Record<string, DeploymentCalibration>;
  /** Settings to paste into the config: weights per deployment, policy and latency target per model. */
  suggestions: {
    providers: { deployments: Record<string, { weight: number }> };
    routing: {
      models: Record<
        string,
        { policy: string; deployments: string[]; latencyTargetMs?: number; streamLatencyTargetMs?: number }
      >;
    };
  };
}

/** One deployment to measure. */
export interface CalibrationTarget {
  name: string;
  type: string;
  provider: Provider;
  upstreamModel: string;
}

/**
 * The deployments of a configuration as calibration targets: every `providers.deployments` entry (its `model`, or
 * the first routed model that lists it); without deployments, the registry's named models (`sim-*`, …).
 */
export function calibrationTargets(
  registry: ProviderRegistry,
  deployments: Record<string, DeploymentConfig>,
  routing: RoutingConfig,
): CalibrationTarget[] {
  const names = Object.keys(deployments);
  if (names.length === 0) {
    return registry.listModels().map((model) => {
      const route = registry.resolve(model);
      return { name: model, type: route.provider.name, provider: route.provider, upstreamModel: route.upstreamModel };
    });
  }
  return names.map((name) => {
    const d = deployments[name];
    const routedAs = Object.entries(routing.models).find(([, m]) => m.deployments.includes(name))?.[0];
    const upstreamModel = d.model ?? routedAs ?? (d.type === "sim" ? "sim-calibration" : undefined);
    if (!upstreamModel) {
      throw new Error(
        `providers.deployments.${name}: no model to calibrate with; set its "model" or list it in routing.models`,
      );
    }
    return { name, type: d.type, provider: registry.get(name)!, upstreamModel };
  });
}

/** Measures the targets one after the other (so they do not disturb each other) and builds the report. */
export async function calibrate(
  targets: CalibrationTarget[],
  routing: RoutingConfig,
  options: CalibrationOptions,
): Promise<CalibrationReport> {
  const selected = options.only?.length ? targets.filter((t) => options.only!.includes(t.name)) : targets;
  const missing = (options.only ?? []).filter((n) => !targets.some((t) => t.name === n));
  if (missing.length) {
    throw new Error(`no deployment named ${missing.join(", ")}; known: ${targets.map((t) => t.name).join(", ")}`);
  }
  const deployments: Record<string, DeploymentCalibration> = {};
  for (const target of selected) deployments[target.name] = await measure(target, options);
  setWeights(deployments);
  return {
    version: 1,
    createdAt: new Date().toISOString(),
    settings: {
      requests: options.requests,
      concurrency: options.concurrency,
      maxTokens: options.maxTokens,
      timeoutMs: options.timeoutMs,
    },
    deployments,
    suggestions: {
      providers: {
        deployments: Object.fromEntries(
          Object.entries(deployments).map(([n, d]) => [n, { weight: d.suggestedWeight }]),
        ),
      },
      routing: { models: suggestModels(deployments, routing) },
    },
  };
}

interface Sample {
  ok: boolean;
  outcome: string;
  ttftMs?: number;
  totalMs?: number;
  tokens?: number;
}

async function measure(target: CalibrationTarget, options: CalibrationOptions): Promise<DeploymentCalibration> {
  const samples: Sample[] = [];
  let next = 0;
  const worker = async () => {
    while (next < options.requests) {
      const i = next++;
      samples.push(await once(target, i, options));
      options.onProgress?.(target.name, samples.length, options.requests);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, options.requests)) }, worker));

  const ok = samples.filter((s) => s.ok);
  const errorKinds: Record<string, number> = {};
  for (const s of samples) if (!s.ok) errorKinds[s.outcome] = (errorKinds[s.outcome] ?? 0) + 1;
  const ttft = summarize(ok.map((s) => s.ttftMs!));
  const total = summarize(ok.map((s) => s.totalMs!));
  const tps = summarize(
    ok.filter((s) => s.tokens! > 1 && s.totalMs! > s.ttftMs!).map((s) =>
      (s.tokens! - 1) / ((s.totalMs! - s.ttftMs!) / 1000)
    ),
  );
  const tokensMean = ok.length ? ok.reduce((a, s) => a + s.tokens!, 0) / ok.length : null;
  const errors = samples.length - ok.length;
  const rateLimited = errorKinds.rate_limited ?? 0;
  return {
    type: target.type,
    upstreamModel: target.upstreamModel,
    requests: samples.length,
    ok: ok.length,
    errors,
    errorRate: round(errors / Math.max(1, samples.length), 3),
    errorKinds,
    ttftMs: ttft,
    totalMs: total,
    tokensPerSecond: tps,
    completionTokensMean: tokensMean === null ? null : round(tokensMean, 1),
    simProfile: ttft
      ? simProfileOf(ttft, tps, tokensMean!, (errors - rateLimited) / samples.length, rateLimited / samples.length)
      : null,
    suggestedWeight: 0,
  };
}

/** One streamed request: time to the first content token, to the end, and the tokens it produced. */
async function once(target: CalibrationTarget, i: number, options: CalibrationOptions): Promise<Sample> {
  const request: ChatRequest = {
    model: target.upstreamModel,
    // Distinct prompts, so no upstream cache answers for the deployment.
    messages: [{ role: "user", content: `Calibration request ${i} at ${Date.now()}: describe a cache in one line.` }],
    max_tokens: options.maxTokens,
    stream: true,
  } as ChatRequest;
  const signal = AbortSignal.timeout(options.timeoutMs);
  const t0 = performance.now();
  let ttftMs: number | undefined;
  let tokens = 0;
  let usageTokens: number | undefined;
  try {
    const chunks = await target.provider.stream(request, { signal, upstreamModel: target.upstreamModel });
    for await (const chunk of chunks) {
      if (chunk.usage?.completion_tokens !== undefined) usageTokens = chunk.usage.completion_tokens;
      const content = chunk.choices?.[0]?.delta?.content;
      if (content) {
        ttftMs ??= performance.now() - t0;
        tokens++;
      }
    }
    const totalMs = performance.now() - t0;
    return { ok: true, outcome: "ok", ttftMs: ttftMs ?? totalMs, totalMs, tokens: usageTokens ?? tokens };
  } catch (err) {
    const outcome = signal.aborted ? "timeout" : upstreamOutcome(err);
    return { ok: false, outcome };
  }
}

/**
 * A simulated profile that reproduces the measured median and 90th percentile of time to first token: the
 * simulator adds uniform jitter in [0, J] to a base, whose p50 is base + J/2 and p90 base + 0.9·J.
 */
function simProfileOf(
  ttft: Summary,
  tps: Summary | null,
  tokensMean: number,
  errorRate: number,
  rateLimitRate: number,
): SimModelConfig {
  const jitter = Math.max(0, (ttft.p90 - ttft.p50) / 0.4);
  return {
    ttftMs: Math.max(0, Math.round(ttft.p50 - jitter / 2)),
    jitterMs: Math.round(jitter),
    tokensPerSecond: Math.max(1, Math.round(tps?.p50 ?? 1000)),
    errorRate: round(Math.min(1, errorRate), 3),
    rateLimitRate: round(Math.min(1, rateLimitRate), 3),
    hang: false,
    completionTokens: Math.max(1, Math.min(4096, Math.round(tokensMean))),
  };
}

/** Weights ∝ successful calls per second at equal concurrency: (1 − error rate) / mean call time; fastest = 100. */
function setWeights(deployments: Record<string, DeploymentCalibration>): void {
  const capacity = (d: DeploymentCalibration) => d.totalMs ? (1 - d.errorRate) / Math.max(1, d.totalMs.mean) : 0;
  const best = Math.max(0, ...Object.values(deployments).map(capacity));
  for (const d of Object.values(deployments)) {
    const c = capacity(d);
    d.suggestedWeight = best > 0 && c > 0 ? Math.max(1, Math.round((100 * c) / best)) : 0;
  }
}

/**
 * Per routed model: keeps its policy and deployments and suggests `latencyTargetMs` = 1.5 × the best p90 call
 * time among its deployments that answered, and `streamLatencyTargetMs` = 1.5 × the best p90 time to first token
 * (rounded up to 10 ms): the fastest meets them with room to spare, and a cheaper deployment up to half again as
 * slow still qualifies under cost-aware routing.
 */
function suggestModels(
  deployments: Record<string, DeploymentCalibration>,
  routing: RoutingConfig,
): CalibrationReport["suggestions"]["routing"]["models"] {
  const out: CalibrationReport["suggestions"]["routing"]["models"] = {};
  for (const [model, m] of Object.entries(routing.models)) {
    const target = (pick: (d: DeploymentCalibration) => number | undefined) => {
      const p90s = m.deployments.map((d) => deployments[d] && pick(deployments[d])).filter((x) => x !== undefined);
      return p90s.length ? Math.ceil((1.5 * Math.min(...p90s)) / 10) * 10 : undefined;
    };
    const latencyTargetMs = target((d) => d.totalMs?.p90);
    const streamLatencyTargetMs = target((d) => d.ttftMs?.p90);
    out[model] = {
      policy: m.policy,
      deployments: m.deployments,
      ...(latencyTargetMs !== undefined ? { latencyTargetMs } : {}),
      ...(streamLatencyTargetMs !== undefined ? { streamLatencyTargetMs } : {}),
    };
  }
  return out;
}

function summarize(values: number[]): Summary | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  return {
    p50: round(at(0.5)),
    p90: round(at(0.9)),
    p99: round(at(0.99)),
    mean: round(values.reduce((a, b) => a + b, 0) / values.length),
    min: round(sorted[0]),
    max: round(sorted[sorted.length - 1]),
  };
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** The markdown summary of a report. */
export function renderMarkdown(report: CalibrationReport): string {
  const s = report.settings;
  const lines = [
    `# Calibration ${report.createdAt}`,
    "",
    `${s.requests} streamed requests per deployment, ${s.concurrency} at a time, max_tokens ${s.maxTokens}, ` +
    `timeout ${s.timeoutMs} ms.`,
    "",
    "| deployment | type | model | ok/requests | error rate | TTFT p50 | TTFT p90 | TTFT p99 | call p50 | call p90 | tokens/s p50 | suggested weight |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  const ms = (x: number | undefined) => x === undefined ? "–" : `${x} ms`;
  for (const [name, d] of Object.entries(report.deployments)) {
    lines.push(
      `| ${name} | ${d.type} | ${d.upstreamModel} | ${d.ok}/${d.requests} | ${(d.errorRate * 100).toFixed(1)}% | ` +
        `${ms(d.ttftMs?.p50)} | ${ms(d.ttftMs?.p90)} | ${ms(d.ttftMs?.p99)} | ${ms(d.totalMs?.p50)} | ` +
        `${ms(d.totalMs?.p90)} | ${d.tokensPerSecond?.p50 ?? "–"} | ${d.suggestedWeight} |`,
    );
  }
  const failing = Object.entries(report.deployments).filter(([, d]) => d.errors > 0);
  if (failing.length) {
    lines.push("", "Failures by kind:", "");
    for (const [name, d] of failing) {
      lines.push(`- ${name}: ${Object.entries(d.errorKinds).map(([k, n]) => `${k} ${n}`).join(", ")}`);
    }
  }
  lines.push(
    "",
    "## Suggested settings",
    "",
    "Weights are relative capacity (successful calls per second at equal concurrency, fastest = 100); latency",
    "targets are 1.5 × the best p90 of the model's deployments: whole call (`latencyTargetMs`, JSON answers) and",
    "time to first token (`streamLatencyTargetMs`, streams). Paste into the config file:",
    "",
    "```json",
    JSON.stringify(report.suggestions, null, 2),
    "```",
    "",
    "To replay a deployment in simulation, give a simulated deployment",
    '`"simProfile": "<this results file>#<deployment>"`.',
    "",
  );
  return lines.join("\n");
}
