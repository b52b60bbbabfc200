/**
 * A simulation as the scaling metrics it would have produced, in the OpenMetrics text format with timestamps, so
 * `promtool tsdb create-blocks-from openmetrics` can load it into a Prometheus and the Scaling Events dashboard
 * shows a simulated run like a real one: `amas_current_replicas`, `amas_desired_replicas`,
 * `amas_scaling_events_total`, `amas_scaling_duration_seconds` and `amas_scaling_effectiveness`.
 *
 * @module
 */
import { SCALING_DURATION_BUCKETS } from "./metrics.ts";
import type { SimulationResult } from "./simulator.ts";

/** Renders the simulation's metrics, the first point at `start`. */
export function toOpenMetrics(
  result: SimulationResult,
  options: { start: Date; namespace?: string },
): string {
  const t0 = Math.floor(options.start.getTime() / 1000);
  const deployment = result.scaler.target.name;
  const base = `deployment="${deployment}",namespace="${options.namespace ?? "amas-prod"}",source="simulation"`;
  const lines: string[] = [];
  const ts = (t: number) => t0 + t;

  lines.push("# TYPE amas_current_replicas gauge", "# HELP amas_current_replicas ready replicas per Deployment");
  for (const p of result.points) lines.push(`amas_current_replicas{${base}} ${p.readyReplicas} ${ts(p.t)}`);
  lines.push("# TYPE amas_desired_replicas gauge", "# HELP amas_desired_replicas spec.replicas per Deployment");
  for (const p of result.points) lines.push(`amas_desired_replicas{${base}} ${p.replicas} ${ts(p.t)}`);

  lines.push("# TYPE amas_scaling_effectiveness gauge", "# HELP amas_scaling_effectiveness requests per replica");
  for (const p of result.points) {
    if (p.requestRate !== undefined && p.readyReplicas > 0) {
      lines.push(`amas_scaling_effectiveness{${base}} ${p.requestRate / p.readyReplicas} ${ts(p.t)}`);
    }
  }

  lines.push("# TYPE amas_scaling_events counter", "# HELP amas_scaling_events replica changes by direction");
  for (const direction of ["up", "down"] as const) {
    let n = 0;
    let e = 0;
    for (const p of result.points) {
      while (e < result.events.length && result.events[e].t <= p.t) {
        if (result.events[e].direction === direction) n++;
        e++;
      }
      lines.push(`amas_scaling_events_total{${base},direction="${direction}"} ${n} ${ts(p.t)}`);
    }
  }

  lines.push(
    "# TYPE amas_scaling_duration_seconds histogram",
    "# HELP amas_scaling_duration_seconds from a replica change to that many ready pods",
  );
  for (const direction of ["up", "down"] as const) {
    const seconds = direction === "up" ? result.options.podStartupSeconds : 0;
    const labels = `${base},direction="${direction}"`;
    // Cumulative per sync point, as a scrape of the live histogram would see it.
    const counts = result.points.map((p) =>
      result.events.filter((e) => e.direction === direction && e.t <= p.t).length
    );
    for (const le of [...SCALING_DURATION_BUCKETS, Number.POSITIVE_INFINITY]) {
      const leText = le === Number.POSITIVE_INFINITY ? "+Inf" : String(le);
      result.points.forEach((p, i) => {
        lines.push(
          `amas_scaling_duration_seconds_bucket{${labels},le="${leText}"} ${seconds <= le ? counts[i] : 0} ${ts(p.t)}`,
        );
      });
    }
    result.points.forEach((p, i) =>
      lines.push(`amas_scaling_duration_seconds_count{${labels}} ${counts[i]} ${ts(p.t)}`)
    );
    result.points.forEach((p, i) =>
      lines.push(`amas_scaling_duration_seconds_sum{${labels}} ${counts[i] * seconds} ${ts(p.t)}`)
    );
  }
  lines.push("# EOF");
  return lines.join("\n") + "\n";
}
