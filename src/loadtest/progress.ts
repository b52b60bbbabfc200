/**
 * Live progress and the final summary. On a terminal the progress line is rewritten in place once a second;
 * elsewhere (CI logs, pipes) one plain line is printed per second.
 *
 * @module
 */
import type { Progress } from "./runner.ts";
import type { RunResult } from "./result.ts";

const encoder = new TextEncoder();

/** One progress line. */
export function progressLine(p: Progress): string {
  const w = p.window;
  const parts = [
    `${p.draining ? "draining" : "t"}=${p.elapsedS.toFixed(0).padStart(3)}s/${p.plannedS.toFixed(0)}s`,
    `rps=${(w?.rps ?? 0).toFixed(0).padStart(5)}`,
    `p50=${fmtMs(w?.p50)}`,
    `p95=${fmtMs(w?.p95)}`,
    `p99=${fmtMs(w?.p99)}`,
    `hit=${w?.hitRate === null || w?.hitRate === undefined ? "  -" : `${(w.hitRate * 100).toFixed(0)}%`.padStart(4)}`,
    `inflight=${String(p.inFlight).padStart(4)}`,
    `done=${p.requests}`,
    `err=${p.errors}`,
    `drop=${p.dropped}`,
  ];
  return parts.join("  ");
}

function fmtMs(v: number | undefined): string {
  if (v === undefined) return "     -";
  return `${v < 10 ? v.toFixed(1) : v.toFixed(0)}ms`.padStart(7);
}

/** Writes progress lines to stderr, in place on a terminal. */
export class ProgressPrinter {
  #tty: boolean;
  #active = false;

  constructor(options: { tty?: boolean } = {}) {
    this.#tty = options.tty ?? Deno.stderr.isTerminal();
  }

  /** Shows one progress update. */
  update(p: Progress): void {
    const line = progressLine(p);
    if (this.#tty) {
      Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${line}`));
      this.#active = true;
    } else {
      Deno.stderr.writeSync(encoder.encode(`${line}\n`));
    }
  }

  /** Ends the in-place line. */
  done(): void {
    if (this.#active) Deno.stderr.writeSync(encoder.encode("\n"));
    this.#active = false;
  }
}

function pct(v: number): string {
  return `${(v * 100).toFixed(2)}%`;
}

/** The human summary of a result. */
export function summaryText(r: RunResult): string {
  const lines: string[] = [];
  const l = r.latencyMs;
  lines.push(`scenario ${r.scenario} (${r.loadModel} model) against ${r.target} [${r.targetKind}]`);
  lines.push(
    `  requests ${r.totals.requests} in ${r.durationS.toFixed(1)} s = ${r.totals.rps} req/s; ` +
      `ok ${r.totals.ok}, errors ${r.totals.errors} (${pct(r.totals.errorRate)}), ` +
      `dropped ${r.totals.dropped}, interrupted ${r.totals.interrupted}`,
  );
  lines.push(
    `  latency ms  p50 ${l.p50}  p90 ${l.p90}  p95 ${l.p95}  p99 ${l.p99}  p99.9 ${l.p999}  max ${l.max}`,
  );
  if (r.gatewayMs.count > 0) {
    lines.push(
      `  gateway ms  p50 ${r.gatewayMs.p50}  p95 ${r.gatewayMs.p95}  p99 ${r.gatewayMs.p99}` +
        `   upstream ms  p50 ${r.upstreamMs.p50}  p95 ${r.upstreamMs.p95}  (Server-Timing)`,
    );
  }
  if (r.ttftMs.count > 0) {
    lines.push(
      `  ttft ms     p50 ${r.ttftMs.p50}  p95 ${r.ttftMs.p95}  p99 ${r.ttftMs.p99}  (${r.ttftMs.count} streams)`,
    );
  }
  lines.push(`  cache hit rate ${pct(r.totals.cacheHitRate)}`);
  const kinds = Object.entries(r.totals.errorKinds);
  if (kinds.length) lines.push(`  errors by kind: ${kinds.map(([k, n]) => `${k}=${n}`).join(", ")}`);
  const tags = Object.entries(r.tags).filter(([k]) => !k.startsWith("stream:"));
  if (tags.length) {
    lines.push("  by tag:");
    for (const [tag, s] of tags) {
      lines.push(
        `    ${tag.padEnd(28)} n=${String(s.count).padStart(6)}  err=${String(s.errors).padStart(4)}  ` +
          `p50 ${s.latencyMs.p50}  p95 ${s.latencyMs.p95}  p99 ${s.latencyMs.p99}`,
      );
    }
  }
  for (const a of r.actions) {
    lines.push(`  action at ${a.atS.toFixed(1)} s: PUT /admin/sim ${JSON.stringify(a.sim)} ${a.ok ? "ok" : "FAILED"}`);
  }
  lines.push(`SLO ${r.slo.passed ? "PASS" : "FAIL"}`);
  for (const c of r.slo.checks) {
    lines.push(`  ${c.passed ? "pass" : "FAIL"}  ${c.label} ${c.threshold}: actual ${round(c.actual)}`);
  }
  if (r.comparison) {
    const c = r.comparison;
    lines.push(
      `baseline ${c.passed ? "PASS" : "REGRESSION"} (vs ${c.baselineStartedAt}; Mann-Whitney one-sided ` +
        `alpha ${c.alpha}, tolerance ${(c.tolerance * 100).toFixed(0)}%)`,
    );
    for (const m of c.metrics) {
      lines.push(
        `  ${m.regression ? "REGRESSED" : "ok       "}  ${
          m.metric.padEnd(16)
        } ${m.baselineMedian} → ${m.currentMedian} ` +
          `(×${m.ratio}, p=${m.pValue}, windows ${m.windowsBaseline}/${m.windowsCurrent})`,
      );
    }
  }
  lines.push(`verdict: ${r.passed ? "PASS" : "FAIL"}`);
  return lines.join("\n");
}

function round(v: number): number {
  return Math.round(v * 10000) / 10000;
}
