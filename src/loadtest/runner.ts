/**
 * One load-test run: drive the scenario's load model against a target, apply its failure-injection actions,
 * record every answer, then judge the SLOs (and the baseline, when given) and assemble the result.
 *
 * @module
 */
import { type Fire, RunClock, runClosed, runOpen } from "./executor.ts";
import { HttpPool, type HttpRequest, TimeoutError } from "./http_client.ts";
import { RequestMix, seededRandom } from "./prompts.ts";
import { parseServerTiming, Recorder, type Sample, type WindowStats } from "./recorder.ts";
import type { Baseline, RunResult } from "./result.ts";
import { type Scenario, scenarioDurationS } from "./scenario.ts";
import { type CompareOptions, compareRuns, evaluateSlo } from "./verdicts.ts";

/** Live numbers, once a second. */
export interface Progress {
  elapsedS: number;
  plannedS: number;
  inFlight: number;
  requests: number;
  errors: number;
  dropped: number;
  /** The last complete second. */
  window?: WindowStats;
  /** Set once the schedule is over and in-flight requests are finishing. */
  draining: boolean;
}

/** Options for {@linkcode runScenario}. */
export interface RunOptions {
  /** Base URL of the target, e.g. `http://127.0.0.1:8000`. */
  targetUrl: string;
  targetKind?: "embedded" | "external";
  /** Bearer key for `/v1/*` (when the target has API keys). */
  apiKey?: string;
  /** Admin token for `PUT /admin/sim` actions. */
  adminToken?: string;
  baseline?: Baseline & { file?: string };
  compare?: CompareOptions;
  onProgress?: (progress: Progress) => void;
  /** Called for every finished request (metrics export). */
  onSample?: (sample: Sample) => void;
  signal?: AbortSignal;
  /** Mixed into fresh prompts so two runs do not share them (default: the start time). */
  runTag?: string;
}

/** The simulated-provider fields `PUT /admin/sim` takes, from a `GET /admin/sim` profile. */
const PROFILE_TO_PATCH: Record<string, string> = {
  ttftMs: "latency_ms",
  jitterMs: "jitter_ms",
  tokensPerSecond: "tokens_per_second",
  errorRate: "error_rate",
  rateLimitRate: "rate_limit_rate",
  hang: "hang",
  completionTokens: "completion_tokens",
};

async function adminFetch(
  base: string,
  method: "GET" | "PUT",
  body: unknown,
  token: string | undefined,
): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers["x-amas-admin-token"] = token;
  return await fetch(`${base}/admin/sim`, {
    method,
    headers,
    body: method === "PUT" ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
}

/** Snapshot of the simulated provider's profiles, to restore after a run with actions. */
async function snapshotSim(base: string, token?: string): Promise<Record<string, Record<string, unknown>>> {
  const res = await adminFetch(base, "GET", undefined, token);
  const text = await res.text();
  if (!res.ok) {
    throw new Error(
      `this scenario injects failures through /admin/sim, but GET /admin/sim answered ${res.status}: ` +
        `${text.slice(0, 200)} (pass --admin-token or set AMAS_ADMIN_TOKEN)`,
    );
  }
  const json = JSON.parse(text) as { profiles: Record<string, Record<string, unknown>> };
  const patches: Record<string, Record<string, unknown>> = {};
  for (const [model, profile] of Object.entries(json.profiles)) {
    const patch: Record<string, unknown> = { model };
    for (const [field, name] of Object.entries(PROFILE_TO_PATCH)) if (field in profile) patch[name] = profile[field];
    patches[model] = patch;
  }
  return patches;
}

/** Runs a scenario against a target and returns the judged result. */
export async function runScenario(scenario: Scenario, options: RunOptions): Promise<RunResult> {
  const base = options.targetUrl.replace(/\/+$/, "");
  const pool = new HttpPool(base);
  const recorder = new Recorder();
  if (options.onSample) recorder.listeners.push(options.onSample);
  const runTag = options.runTag ?? Date.now().toString(36);
  const mix = scenario.mix.http ? undefined : new RequestMix(scenario.mix, scenario.seed, runTag);
  const timeoutMs = scenario.requestTimeoutS * 1000;
  const baseHeaders: Record<string, string> = { ...scenario.mix.headers };
  if (options.apiKey) baseHeaders.authorization = `Bearer ${options.apiKey}`;
  const staticRequest: HttpRequest | undefined = scenario.mix.http
    ? { method: scenario.mix.http.method, path: scenario.mix.http.path, headers: baseHeaders, timeoutMs }
    : undefined;
  const staticBytes = staticRequest ? pool.encode(staticRequest) : undefined;
  const chatHeaders = { ...baseHeaders, "content-type": "application/json" };

  if (scenario.warmupRequests > 0) {
    const warmMix = mix ? new RequestMix(scenario.mix, scenario.seed + 1, `${runTag}-warmup`) : undefined;
    for (let i = 0; i < scenario.warmupRequests && !options.signal?.aborted; i++) {
      const planned = warmMix?.next();
      const request: HttpRequest = planned
        ? {
          method: "POST",
          path: "/v1/chat/completions",
          headers: { ...chatHeaders, "x-amas-agent": planned.agent },
          body: planned.body,
          stream: planned.stream,
          timeoutMs: 60_000,
        }
        : { ...staticRequest!, timeoutMs: 60_000 };
      await pool.send(request).catch(() => {});
    }
  }

  const restore = scenario.actions.length > 0 ? await snapshotSim(base, options.adminToken) : undefined;
  const actionLog: RunResult["actions"] = [];
  const startedAt = new Date();
  const clock = new RunClock();
  let inFlight = 0;
  let cutOff = false;

  const fire: Fire = async (intendedMs) => {
    const planned = mix?.next();
    const request: HttpRequest = planned
      ? {
        method: "POST",
        path: "/v1/chat/completions",
        headers: { ...chatHeaders, "x-amas-agent": planned.agent },
        body: planned.body,
        stream: planned.stream,
        timeoutMs,
      }
      : staticRequest!;
    const sentMs = clock.now();
    inFlight++;
    let sample: Sample;
    try {
      const res = await pool.send(request, planned ? undefined : staticBytes);
      const endMs = clock.now();
      const timing = parseServerTiming(res.headers.get("server-timing"));
      sample = {
        endMs,
        latencyMs: endMs - intendedMs,
        serviceMs: endMs - sentMs,
        status: res.status,
        cache: res.headers.get("x-amas-cache"),
        agent: planned?.agent,
        model: planned?.model,
        stream: planned?.stream,
        ttftMs: res.firstTokenAt === undefined ? undefined : res.firstTokenAt - clock.origin - intendedMs,
        gatewayMs: timing.get("gateway"),
        upstreamMs: timing.has("gateway") ? (timing.get("upstream") ?? 0) : undefined,
      };
    } catch (err) {
      const endMs = clock.now();
      sample = {
        endMs,
        latencyMs: endMs - intendedMs,
        serviceMs: endMs - sentMs,
        status: 0,
        error: err instanceof TimeoutError ? "timeout" : "network",
        agent: planned?.agent,
        model: planned?.model,
        stream: planned?.stream,
      };
    } finally {
      inFlight--;
    }
    if (!cutOff) recorder.record(sample);
  };

  const timers: ReturnType<typeof setTimeout>[] = [];
  const actionsDone: Promise<void>[] = [];
  for (const action of scenario.actions) {
    timers.push(setTimeout(() => {
      actionsDone.push((async () => {
        let ok = false;
        try {
          const res = await adminFetch(base, "PUT", action.sim, options.adminToken);
          await res.body?.cancel();
          ok = res.ok;
        } catch { /* recorded as not ok */ }
        actionLog.push({ atS: Math.round(clock.now()) / 1000, sim: action.sim, ok, note: action.note });
      })());
    }, action.atS * 1000));
  }

  const plannedS = scenarioDurationS(scenario);
  let draining = false;
  const ticker = setInterval(() => {
    options.onProgress?.({
      elapsedS: clock.now() / 1000,
      plannedS,
      inFlight,
      requests: recorder.requests,
      errors: recorder.errors,
      dropped: recorder.dropped,
      window: recorder.lastWindow(clock.now()),
      draining,
    });
  }, 1000);

  let started = 0;
  try {
    const random = seededRandom(scenario.seed ^ 0x9e3779b9);
    const executed = scenario.load.model === "open"
      ? await runOpen(scenario.load, {
        clock,
        fire,
        random,
        signal: options.signal,
        onDrop: (ms) => recorder.drop(ms),
      })
      : await runClosed(scenario.load, { clock, fire, random, signal: options.signal });
    started = executed.started;
    draining = true;
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all([...executed.pending]),
      new Promise((resolve) => graceTimer = setTimeout(resolve, scenario.gracefulStopS * 1000)),
    ]);
    clearTimeout(graceTimer);
  } finally {
    cutOff = true;
    recorder.interrupt(inFlight);
    clearInterval(ticker);
    for (const t of timers) clearTimeout(t);
    pool.close();
    await Promise.all(actionsDone);
    if (restore) {
      for (const patch of Object.values(restore)) {
        await adminFetch(base, "PUT", patch, options.adminToken).then((r) => r.body?.cancel()).catch(() => {});
      }
    }
  }

  const elapsedS = clock.now() / 1000;
  const requests = recorder.requests;
  const arrivals = requests + recorder.dropped + recorder.interrupted;
  const result: RunResult = {
    version: 1,
    scenario: scenario.name,
    description: scenario.description,
    target: base,
    targetKind: options.targetKind ?? "external",
    startedAt: startedAt.toISOString(),
    durationS: Math.round(elapsedS * 1000) / 1000,
    loadModel: scenario.load.model,
    config: scenario,
    totals: {
      started,
      requests,
      ok: recorder.ok,
      errors: recorder.errors,
      dropped: recorder.dropped,
      interrupted: recorder.interrupted,
      rps: Math.round((requests / Math.max(elapsedS, 1e-3)) * 100) / 100,
      errorRate: requests === 0 ? 0 : recorder.errors / requests,
      droppedRate: arrivals === 0 ? 0 : recorder.dropped / arrivals,
      cacheHitRate: recorder.hitRate,
      errorKinds: recorder.errorKinds(),
    },
    latencyMs: recorder.latency.summary(),
    serviceMs: recorder.service.summary(),
    ttftMs: recorder.ttft.summary(),
    gatewayMs: recorder.gateway.summary(),
    upstreamMs: recorder.upstream.summary(),
    tags: recorder.tags(),
    timeline: recorder.timeline(clock.now()),
    histogram: recorder.latency.encode(),
    actions: actionLog.sort((a, b) => a.atS - b.atS),
    slo: { passed: true, checks: [] },
    passed: true,
  };
  result.slo = evaluateSlo(scenario.slo, result);
  if (options.baseline) result.comparison = compareRuns(options.baseline, result.timeline, options.compare);
  result.passed = result.slo.passed && (result.comparison?.passed ?? true);
  return result;
}
