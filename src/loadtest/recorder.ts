/**
 * Collects samples of a run: overall and per-tag HDR histograms (status, `x-amas-cache` kind, agent, model,
 * streaming), a per-second timeline (throughput, errors, drops, latency percentiles, cache hit rate, gateway
 * overhead), and the gateway's own time read from `Server-Timing`, kept apart from upstream time.
 *
 * @module
 */
import { LatencyHistogram, type LatencySummary } from "./histogram.ts";

/** One finished request. Times in ms relative to the run start. */
export interface Sample {
  /** When it finished. */
  endMs: number;
  /** From the intended send time (open model) or the actual send time (closed model) to the last byte. */
  latencyMs: number;
  /** From the moment the request was written to the last byte (excludes generator-side waiting). */
  serviceMs: number;
  /** HTTP status; 0 for network errors and timeouts. */
  status: number;
  /** Error kind when the request failed (`http_5xx`, `timeout`, `network`, …). */
  error?: string;
  /** `x-amas-cache` response header. */
  cache?: string;
  agent?: string;
  model?: string;
  stream?: boolean;
  /** Streams: time to first content token, from the intended send time. */
  ttftMs?: number;
  /** `Server-Timing` gateway and upstream durations. */
  gatewayMs?: number;
  upstreamMs?: number;
}

/** Per-tag aggregate. */
export interface TagStats {
  count: number;
  errors: number;
  latencyMs: LatencySummary;
}

/** One window of the timeline. */
export interface WindowStats {
  /** Window start, seconds since the run started. */
  t: number;
  requests: number;
  ok: number;
  errors: number;
  dropped: number;
  /** Completed requests per second in this window. */
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  /** Share of 2xx answers served from cache (exact or semantic); null when no 2xx answer. */
  hitRate: number | null;
  /** Median gateway time from `Server-Timing`, ms; null when the target sent none. */
  gatewayP50: number | null;
  /** Median time to first token of streams, ms; null without streams. */
  ttftP50: number | null;
}

class Window {
  requests = 0;
  ok = 0;
  errors = 0;
  dropped = 0;
  hits = 0;
  // Three significant digits: per-window medians are compared by rank, and coarser buckets would make ties.
  latency = new LatencyHistogram();
  gateway = new LatencyHistogram();
  ttft = new LatencyHistogram();
}

/** Whether a status/error counts as a failure. */
function isError(sample: Sample): boolean {
  return sample.error !== undefined || sample.status < 200 || sample.status >= 400;
}

const HIT_KINDS = new Set(["exact", "semantic"]);

/** Parses `Server-Timing` into name → duration (ms). */
export function parseServerTiming(header: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  if (!header) return out;
  for (const part of header.split(",")) {
    const [name, ...params] = part.trim().split(";");
    for (const param of params) {
      const m = /^\s*dur=([0-9.]+)\s*$/.exec(param);
      if (m && name) out.set(name.trim(), Number(m[1]));
    }
  }
  return out;
}

/** Accumulates a run's samples. */
export class Recorder {
  readonly windowMs: number;
  readonly latency = new LatencyHistogram();
  readonly service = new LatencyHistogram();
  readonly ttft = new LatencyHistogram();
  readonly gateway = new LatencyHistogram();
  readonly upstream = new LatencyHistogram();
  #tags = new Map<string, { count: number; errors: number; latency: LatencyHistogram }>();
  #windows: Window[] = [];
  #errorKinds = new Map<string, number>();
  requests = 0;
  ok = 0;
  errors = 0;
  dropped = 0;
  interrupted = 0;
  hits = 0;
  /** Listeners called for every sample (the OpenTelemetry exporter). */
  readonly listeners: ((sample: Sample) => void)[] = [];

  constructor(options: { windowMs?: number } = {}) {
    this.windowMs = options.windowMs ?? 1000;
  }

  #window(ms: number): Window {
    const index = Math.max(0, Math.floor(ms / this.windowMs));
    while (this.#windows.length <= index) this.#windows.push(new Window());
    return this.#windows[index];
  }

  #tag(key: string, sample: Sample, failed: boolean): void {
    let tag = this.#tags.get(key);
    if (!tag) this.#tags.set(key, tag = { count: 0, errors: 0, latency: new LatencyHistogram(2) });
    tag.count++;
    if (failed) tag.errors++;
    tag.latency.recordMs(sample.latencyMs);
  }

  /** Records a finished request. */
  record(sample: Sample): void {
    const failed = isError(sample);
    const w = this.#window(sample.endMs);
    this.requests++;
    w.requests++;
    this.latency.recordMs(sample.latencyMs);
    this.service.recordMs(sample.serviceMs);
    w.latency.recordMs(sample.latencyMs);
    if (failed) {
      this.errors++;
      w.errors++;
      const kind = sample.error ?? (sample.status >= 500 ? "http_5xx" : "http_4xx");
      this.#errorKinds.set(kind, (this.#errorKinds.get(kind) ?? 0) + 1);
    } else {
      this.ok++;
      w.ok++;
      if (sample.cache && HIT_KINDS.has(sample.cache)) {
        this.hits++;
        w.hits++;
      }
    }
    if (sample.ttftMs !== undefined) {
      this.ttft.recordMs(sample.ttftMs);
      w.ttft.recordMs(sample.ttftMs);
    }
    if (sample.gatewayMs !== undefined) {
      this.gateway.recordMs(sample.gatewayMs);
      w.gateway.recordMs(sample.gatewayMs);
    }
    if (sample.upstreamMs !== undefined) this.upstream.recordMs(sample.upstreamMs);
    this.#tag(`status:${sample.status || sample.error || "error"}`, sample, failed);
    if (sample.cache) this.#tag(`cache:${sample.cache}`, sample, failed);
    if (sample.agent) this.#tag(`agent:${sample.agent}`, sample, failed);
    if (sample.model) this.#tag(`model:${sample.model}`, sample, failed);
    if (sample.stream !== undefined) this.#tag(`stream:${sample.stream}`, sample, failed);
    for (const listener of this.listeners) listener(sample);
  }

  /** Records an arrival that was dropped because too many requests were in flight. */
  drop(intendedMs: number): void {
    this.dropped++;
    this.#window(intendedMs).dropped++;
  }

  /** Records requests cut off at the end of the graceful stop. */
  interrupt(count: number): void {
    this.interrupted += count;
  }

  /** Share of 2xx answers served from cache. */
  get hitRate(): number {
    return this.ok === 0 ? 0 : this.hits / this.ok;
  }

  /** Failure counts by kind. */
  errorKinds(): Record<string, number> {
    return Object.fromEntries([...this.#errorKinds].sort((a, b) => b[1] - a[1]));
  }

  /** Per-tag results. */
  tags(): Record<string, TagStats> {
    const out: Record<string, TagStats> = {};
    for (const key of [...this.#tags.keys()].sort()) {
      const tag = this.#tags.get(key)!;
      out[key] = { count: tag.count, errors: tag.errors, latencyMs: tag.latency.summary() };
    }
    return out;
  }

  /** The timeline, one entry per window up to `untilMs` (default: the last window with data). */
  timeline(untilMs?: number): WindowStats[] {
    const n = untilMs === undefined ? this.#windows.length : Math.ceil(untilMs / this.windowMs);
    const out: WindowStats[] = [];
    const perSecond = 1000 / this.windowMs;
    const round = (v: number) => Math.round(v * 1000) / 1000;
    for (let i = 0; i < n; i++) {
      const w = this.#windows[i] ?? new Window();
      out.push({
        t: round((i * this.windowMs) / 1000),
        requests: w.requests,
        ok: w.ok,
        errors: w.errors,
        dropped: w.dropped,
        rps: round(w.requests * perSecond),
        p50: w.latency.percentileMs(50),
        p95: w.latency.percentileMs(95),
        p99: w.latency.percentileMs(99),
        hitRate: w.ok === 0 ? null : round(w.hits / w.ok),
        gatewayP50: w.gateway.count === 0 ? null : w.gateway.percentileMs(50),
        ttftP50: w.ttft.count === 0 ? null : w.ttft.percentileMs(50),
      });
    }
    return out;
  }

  /** The last complete window before `nowMs` (for live progress). */
  lastWindow(nowMs: number): WindowStats | undefined {
    const index = Math.floor(nowMs / this.windowMs) - 1;
    if (index < 0) return undefined;
    return this.timeline((index + 1) * this.windowMs)[index];
  }
}
