/**
 * The simulator's text report: settings, the replica timeline as a bar chart, the scale events, and the summary
 * (replica-hours, over- and under-provisioning, cost against static peak provisioning).
 *
 * @module
 */
import type { SimulationResult } from "./simulator.ts";

/** `1h05m`, `4m30s`, `45s`. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h) return `${h}h${String(m).padStart(2, "0")}m${r ? `${String(r).padStart(2, "0")}s` : ""}`;
  if (m) return `${m}m${r ? `${String(r).padStart(2, "0")}s` : ""}`;
  return `${r}s`;
}

function fmt(n: number | null | undefined, digits = 2): string {
  if (n === null || n === undefined) return "-";
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(0)}Mi`; // memory triggers report bytes
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(digits);
}

/** Renders a simulation as text; `rows` bounds the timeline table (evenly spaced rows plus every event). */
export function renderReport(r: SimulationResult, options: { rows?: number } = {}): string {
  const { scaler: s, options: o } = r;
  const lines: string[] = [];
  lines.push(
    `${s.kind} ${s.name} → ${s.target.kind} ${s.target.name}: min ${s.minReplicas}, max ${s.maxReplicas}, ` +
      `HPA sync ${o.syncPeriodSeconds} s, tolerance ${o.tolerance}` +
      (s.kind === "ScaledObject" ? `, polling ${s.pollingIntervalSeconds} s` : "") +
      (s.fallback ? `, fallback ${s.fallback.replicas} replicas after ${s.fallback.failureThreshold} failures` : ""),
  );
  const b = s.behavior;
  const policies = (rules: typeof b.scaleUp) =>
    `${rules.policies.map((p) => `${p.type} ${p.value}/${p.periodSeconds}s`).join(", ")} (${rules.selectPolicy}), ` +
    `stabilisation ${rules.stabilizationWindowSeconds} s`;
  lines.push(`  scale up:   ${policies(b.scaleUp)}`);
  lines.push(`  scale down: ${policies(b.scaleDown)}`);
  for (const t of s.triggers) {
    const ignored = r.ignoredTriggers.includes(t.name) ? "  [not in the timeline: ignored]" : "";
    lines.push(
      `  trigger ${t.name} (${t.type}): ${t.metric.targetType} ${t.metric.target}` +
        (t.activation ? `, activation ${t.activation}` : "") + ignored,
    );
  }
  lines.push(
    `timeline ${r.timeline.name} (${r.timeline.source})${r.timeline.description ? `: ${r.timeline.description}` : ""}`,
  );
  lines.push(
    `  simulated ${formatDuration(r.durationSeconds)}` +
      (o.timeScale !== 1 ? `, time scale ×${o.timeScale} (1 timeline second = ${o.timeScale} simulated seconds)` : "") +
      (o.holdLastSeconds ? `, last sample held ${formatDuration(o.holdLastSeconds)}` : "") +
      `, pods ready ${o.podStartupSeconds} s after scale-up`,
  );
  lines.push("");

  const names = r.points.length ? Object.keys(r.points[0].values) : [];
  const rows = options.rows ?? 40;
  const every = Math.max(1, Math.ceil(r.points.length / rows));
  const eventTimes = new Set(r.events.map((e) => e.t));
  const width = Math.max(...r.points.map((p) => p.replicas), 1);
  const scale = width > 50 ? 50 / width : 1;
  lines.push(
    ["time".padStart(8), "replicas".padStart(8), "need".padStart(5), ...names.map((n) => n.padStart(12)), "  chart"]
      .join(" "),
  );
  r.points.forEach((p, i) => {
    if (i % every !== 0 && !eventTimes.has(p.t) && i !== r.points.length - 1) return;
    lines.push([
      formatDuration(p.t).padStart(8),
      String(p.replicas).padStart(8),
      (p.needed === undefined ? "-" : String(p.needed)).padStart(5),
      ...names.map((n) => fmt(p.values[n]).padStart(12)),
      `  ${"█".repeat(Math.round(p.replicas * scale))}${eventTimes.has(p.t) ? " ◀" : ""}`,
    ].join(" "));
  });
  lines.push("");
  const ups = r.events.filter((e) => e.direction === "up").length;
  lines.push(`scale events: ${r.events.length} (${ups} up, ${r.events.length - ups} down)`);
  for (const e of r.events.slice(0, 60)) {
    lines.push(
      `  ${formatDuration(e.t).padStart(8)}  ${String(e.from).padStart(3)} → ${
        String(e.to).padEnd(3)
      } ${e.by}: ${e.reason}`,
    );
  }
  if (r.events.length > 60) lines.push(`  … ${r.events.length - 60} more`);
  lines.push("");
  lines.push(`peak replicas ${r.peakReplicas}; replica-hours autoscaled ${r.replicaHours.toFixed(2)}`);
  if (r.staticPeakReplicas !== undefined && r.overProvisioning) {
    lines.push(
      `static peak provisioning: ${r.staticPeakReplicas} replicas all the time = ${r.staticReplicaHours!.toFixed(2)} ` +
        `replica-hours; the load needed ${r.neededReplicaHours!.toFixed(2)}`,
    );
    lines.push(
      `over-provisioning (replica-hours above need): autoscaled ${
        r.overProvisioning.autoscaled.toFixed(2)
      } vs static ` +
        `${r.overProvisioning.static.toFixed(2)} → ${r.overProvisioning.reductionPercent.toFixed(1)} % less`,
    );
    lines.push(
      `under-provisioning (ready replicas below need, the cost of reacting late): ` +
        `${r.underProvisionedReplicaHours!.toFixed(2)} replica-hours`,
    );
    lines.push(
      `cost at $${o.pricePerReplicaHour}/replica-hour: autoscaled $${r.cost.autoscaledUsd.toFixed(2)} vs static ` +
        `$${r.cost.staticUsd!.toFixed(2)} (${r.cost.savingPercent!.toFixed(1)} % less)`,
    );
  } else {
    lines.push(
      `cost at $${o.pricePerReplicaHour}/replica-hour: autoscaled $${r.cost.autoscaledUsd.toFixed(2)}; no static ` +
        "comparison (no AverageValue or cpu trigger says how many replicas the load needs)",
    );
  }
  if (r.requestsPerReplica !== undefined) {
    lines.push(
      `requests per ready replica (amas_scaling_effectiveness), average: ${r.requestsPerReplica.toFixed(1)} RPS`,
    );
  }
  return lines.join("\n");
}
