/**
 * A self-contained HTML report of a run: summary, SLO and baseline verdicts, per-tag table, and inline SVG
 * charts (latency percentiles over time, throughput with errors and drops, cache hit rate). No scripts, fonts or
 * other external assets: the file can be attached to a CI run or mailed.
 *
 * @module
 */
import type { RunResult } from "./result.ts";

interface Series {
  name: string;
  color: string;
  values: (number | null)[];
}

function esc(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** A line chart as an SVG string. */
export function lineChart(title: string, unit: string, t: number[], series: Series[], fixedMax?: number): string {
  const w = 720;
  const h = 220;
  const left = 56;
  const right = 12;
  const top = 28;
  const bottom = 30;
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const yMax = fixedMax ?? niceMax(Math.max(0, ...all));
  const tMax = Math.max(1, ...t);
  const x = (v: number) => left + (v / tMax) * (w - left - right);
  const y = (v: number) => top + (1 - v / yMax) * (h - top - bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img">`,
    `<text x="${left}" y="16" font-size="13" font-weight="bold">${esc(title)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    parts.push(
      `<line x1="${left}" x2="${w - right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" font-size="10" text-anchor="end">${+v.toPrecision(3)}</text>`,
    );
  }
  const ticks = Math.min(10, Math.max(1, Math.floor(tMax)));
  for (let i = 0; i <= ticks; i++) {
    const v = (tMax * i) / ticks;
    parts.push(
      `<text x="${x(v)}" y="${h - 12}" font-size="10" text-anchor="middle">${+v.toFixed(1)}s</text>`,
    );
  }
  parts.push(`<text x="12" y="${top + 4}" font-size="10">${esc(unit)}</text>`);
  series.forEach((s, si) => {
    let d = "";
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${x(t[i]).toFixed(1)},${y(Math.min(v, yMax)).toFixed(1)}`;
      pen = true;
    });
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"/>`);
    const lx = left + 10 + si * 110;
    parts.push(
      `<rect x="${lx}" y="${h - 8}" width="10" height="3" fill="${s.color}"/>`,
      `<text x="${lx + 14}" y="${h - 4}" font-size="10">${esc(s.name)}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("");
}

/** The whole report. */
export function renderHtml(r: RunResult): string {
  const t = r.timeline.map((w) => w.t);
  const latency = lineChart("Latency percentiles per second", "ms", t, [
    { name: "p50", color: "#1f77b4", values: r.timeline.map((w) => w.requests ? w.p50 : null) },
    { name: "p95", color: "#ff7f0e", values: r.timeline.map((w) => w.requests ? w.p95 : null) },
    { name: "p99", color: "#d62728", values: r.timeline.map((w) => w.requests ? w.p99 : null) },
    { name: "gateway p50", color: "#2ca02c", values: r.timeline.map((w) => w.gatewayP50) },
  ]);
  const rps = lineChart("Throughput", "req/s", t, [
    { name: "completed", color: "#1f77b4", values: r.timeline.map((w) => w.rps) },
    { name: "errors", color: "#d62728", values: r.timeline.map((w) => w.errors) },
    { name: "dropped", color: "#9467bd", values: r.timeline.map((w) => w.dropped) },
  ]);
  const hits = lineChart("Cache hit rate", "%", t, [
    { name: "hit rate", color: "#2ca02c", values: r.timeline.map((w) => w.hitRate === null ? null : w.hitRate * 100) },
  ], 100);
  const row = (cells: unknown[], tag = "td") => `<tr>${cells.map((c) => `<${tag}>${esc(c)}</${tag}>`).join("")}</tr>`;
  const verdict = (ok: boolean) => `<b class="${ok ? "pass" : "fail"}">${ok ? "PASS" : "FAIL"}</b>`;
  const l = r.latencyMs;
  const sloRows = r.slo.checks.map((c) =>
    `<tr class="${c.passed ? "pass" : "fail"}"><td>${esc(c.label)}</td><td>${c.threshold}</td>` +
    `<td>${+c.actual.toPrecision(5)}</td><td>${c.passed ? "pass" : "FAIL"}</td></tr>`
  ).join("");
  const cmp = r.comparison;
  const cmpRows =
    cmp?.metrics.map((m) =>
      `<tr class="${m.regression ? "fail" : "pass"}"><td>${esc(m.metric)}</td><td>${m.baselineMedian}</td>` +
      `<td>${m.currentMedian}</td><td>×${m.ratio}</td><td>${m.pValue}</td><td>${m.significant}</td>` +
      `<td>${m.beyondTolerance}</td><td>${m.regression ? "REGRESSED" : "ok"}</td></tr>`
    ).join("") ?? "";
  const tagRows = Object.entries(r.tags).map(([k, s]) =>
    row([k, s.count, s.errors, s.latencyMs.p50, s.latencyMs.p95, s.latencyMs.p99, s.latencyMs.max])
  ).join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>load test ${esc(r.scenario)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;max-width:980px;color:#222}
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}.pass{color:#176317}.fail{color:#b00020}
tr.fail td{background:#fde8ea}svg{display:block;margin:10px 0;background:#fafafa;border:1px solid #eee}
</style></head><body>
<h1>${esc(r.scenario)} — ${verdict(r.passed)}</h1>
<p>${esc(r.description)}</p>
<p>${esc(r.loadModel)} model against ${esc(r.target)} (${esc(r.targetKind)}), started ${esc(r.startedAt)},
${r.durationS} s.</p>
<table>${row(["requests", "req/s", "errors", "error rate", "dropped", "interrupted", "cache hit rate"], "th")}
${
    row([
      r.totals.requests,
      r.totals.rps,
      r.totals.errors,
      (r.totals.errorRate * 100).toFixed(2) + "%",
      r.totals.dropped,
      r.totals.interrupted,
      (r.totals.cacheHitRate * 100).toFixed(1) + "%",
    ])
  }</table>
<table>${row(["latency (ms)", "p50", "p90", "p95", "p99", "p99.9", "max"], "th")}
${row(["end to end", l.p50, l.p90, l.p95, l.p99, l.p999, l.max])}
${
    row([
      "gateway (Server-Timing)",
      r.gatewayMs.p50,
      r.gatewayMs.p90,
      r.gatewayMs.p95,
      r.gatewayMs.p99,
      r.gatewayMs.p999,
      r.gatewayMs.max,
    ])
  }
${
    row([
      "upstream (Server-Timing)",
      r.upstreamMs.p50,
      r.upstreamMs.p90,
      r.upstreamMs.p95,
      r.upstreamMs.p99,
      r.upstreamMs.p999,
      r.upstreamMs.max,
    ])
  }
${row(["time to first token", r.ttftMs.p50, r.ttftMs.p90, r.ttftMs.p95, r.ttftMs.p99, r.ttftMs.p999, r.ttftMs.max])}
</table>
${latency}${rps}${hits}
<h2>SLO ${verdict(r.slo.passed)}</h2>
<table>${row(["check", "threshold", "actual", ""], "th")}${sloRows}</table>
${
    cmp
      ? `<h2>Baseline ${verdict(cmp.passed)}</h2><p>Against ${esc(cmp.baselineFile)} (${esc(cmp.baselineStartedAt)}):
per-second windows, one-sided Mann-Whitney U at α=${cmp.alpha}; a regression needs significance AND a median
change beyond ${(cmp.tolerance * 100).toFixed(0)} %.</p>
<table>${
        row(["metric", "baseline median", "current median", "ratio", "p", "significant", "beyond tolerance", ""], "th")
      }${cmpRows}</table>`
      : ""
  }
<h2>By tag</h2>
<table>${row(["tag", "count", "errors", "p50", "p95", "p99", "max"], "th")}${tagRows}</table>
${
    r.actions.length
      ? `<h2>Failure injection</h2><table>${row(["at (s)", "PUT /admin/sim", "applied"], "th")}${
        r.actions.map((a) => row([a.atS, JSON.stringify(a.sim), a.ok])).join("")
      }</table>`
      : ""
  }
</body></html>
`;
}
