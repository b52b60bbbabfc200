/**
 * `deno task scale …`: the scaling simulator's command line.
 *
 * ```
 * deno task scale simulate [--synthetic spike|diurnal|steady | --timeline FILE] [--manifests k8s/overlays/prod]
 *                          [--scaler NAME] [--time-scale N] [--hold-last 30m] [--sync-period 15]
 *                          [--pod-startup 30] [--price 0.05] [--initial N] [--json FILE] [--save-timeline FILE]
 *                          [--openmetrics FILE [--start ISO] [--namespace amas-prod]]
 * deno task scale record --prometheus URL --duration 10m [--step 15s] [--end ISO] [--manifests DIR]
 *                        [--scaler NAME] [--query name=PROMQL …] --out FILE
 * deno task scale list [--manifests DIR]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadManifests } from "./manifests.ts";
import { type ScalerSpec, scalerSpecs } from "./scaler_spec.ts";
import { readTimeline, SYNTHETIC, syntheticTimeline } from "./timeline.ts";
import { simulate } from "./simulator.ts";
import { renderReport } from "./report.ts";
import { recordTimeline } from "./record.ts";
import { toOpenMetrics } from "./openmetrics.ts";

/** `90`, `90s`, `15m`, `2h` → seconds. */
export function parseSeconds(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`${what}: expected a duration like 90s, 15m or 2h, got "${text}"`);
  const n = Number(m[1]);
  return m[2] === "h" ? n * 3600 : m[2] === "m" ? n * 60 : m[2] === "ms" ? n / 1000 : n;
}

const USAGE = `usage:
  deno task scale simulate [--synthetic ${Object.keys(SYNTHETIC).join("|")} | --timeline FILE] [--manifests DIR|FILE]
                           [--scaler NAME] [--time-scale N] [--hold-last DURATION] [--sync-period SECONDS]
                           [--pod-startup SECONDS] [--price USD_PER_REPLICA_HOUR] [--initial N] [--rows N]
                           [--json FILE] [--save-timeline FILE] [--openmetrics FILE [--start ISO] [--namespace NS]]
  deno task scale record --prometheus URL --duration DURATION [--step DURATION] [--end ISO_TIME]
                         [--manifests DIR|FILE] [--scaler NAME] [--query name=PROMQL ...] --out FILE
  deno task scale list [--manifests DIR|FILE]`;

async function pickScaler(manifests: string, name: string | undefined): Promise<ScalerSpec> {
  const specs = scalerSpecs(await loadManifests(manifests));
  if (specs.length === 0) throw new Error(`no ScaledObject or HorizontalPodAutoscaler in ${manifests}`);
  if (name) {
    const found = specs.find((s) => s.name === name);
    if (!found) {
      throw new Error(`no scaler named ${name} in ${manifests}; there are: ${specs.map((s) => s.name).join(", ")}`);
    }
    return found;
  }
  // The gateway's scaler first: it is what the seed's scaling criteria are about.
  return specs.find((s) => /orchestrator/.test(s.name)) ?? specs[0];
}

/** Runs the CLI; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      manifests: { type: "string", default: "k8s/overlays/prod" },
      scaler: { type: "string" },
      synthetic: { type: "string" },
      timeline: { type: "string" },
      "time-scale": { type: "string" },
      "hold-last": { type: "string" },
      "sync-period": { type: "string" },
      "pod-startup": { type: "string" },
      price: { type: "string" },
      initial: { type: "string" },
      rows: { type: "string" },
      json: { type: "string" },
      "save-timeline": { type: "string" },
      prometheus: { type: "string" },
      duration: { type: "string" },
      step: { type: "string" },
      end: { type: "string" },
      query: { type: "string", multiple: true },
      out: { type: "string" },
      openmetrics: { type: "string" },
      namespace: { type: "string", default: "amas-prod" },
      start: { type: "string" },
    },
  });
  if (command === "list") {
    for (const s of scalerSpecs(await loadManifests(values.manifests!))) {
      console.log(
        `${s.kind} ${s.name} → ${s.target.kind} ${s.target.name} (${s.minReplicas}..${s.maxReplicas}): ` +
          s.triggers.map((t) => `${t.name} ${t.metric.targetType} ${t.metric.target}`).join(", "),
      );
    }
    return 0;
  }
  if (command === "simulate") {
    const spec = await pickScaler(values.manifests!, values.scaler);
    if (values.timeline && values.synthetic) throw new Error("pass --timeline or --synthetic, not both");
    const timeline = values.timeline
      ? await readTimeline(values.timeline)
      : syntheticTimeline(values.synthetic ?? "spike", spec);
    if (values["save-timeline"]) await Deno.writeTextFile(values["save-timeline"], JSON.stringify(timeline, null, 1));
    const result = simulate(spec, timeline, {
      timeScale: values["time-scale"] ? Number(values["time-scale"]) : undefined,
      holdLastSeconds: values["hold-last"] ? parseSeconds(values["hold-last"], "--hold-last") : undefined,
      syncPeriodSeconds: values["sync-period"] ? parseSeconds(values["sync-period"], "--sync-period") : undefined,
      podStartupSeconds: values["pod-startup"] ? parseSeconds(values["pod-startup"], "--pod-startup") : undefined,
      pricePerReplicaHour: values.price ? Number(values.price) : undefined,
      initialReplicas: values.initial ? Number(values.initial) : undefined,
    });
    console.log(renderReport(result, { rows: values.rows ? Number(values.rows) : undefined }));
    if (values.json) await Deno.writeTextFile(values.json, JSON.stringify(result, null, 1));
    if (values.openmetrics) {
      const start = values.start ? new Date(values.start) : new Date(Date.now() - result.durationSeconds * 1000);
      if (Number.isNaN(start.getTime())) throw new Error(`--start: not a time: ${values.start}`);
      await Deno.writeTextFile(values.openmetrics, toOpenMetrics(result, { start, namespace: values.namespace }));
      console.log(
        `\nscaling metrics written to ${values.openmetrics} (load with: promtool tsdb create-blocks-from ` +
          `openmetrics ${values.openmetrics} <prometheus data dir>)`,
      );
    }
    return 0;
  }
  if (command === "record") {
    if (!values.prometheus || !values.duration || !values.out) {
      throw new Error("record needs --prometheus URL, --duration (e.g. 10m) and --out FILE");
    }
    const spec = await pickScaler(values.manifests!, values.scaler);
    const end = values.end ? new Date(values.end) : new Date();
    if (Number.isNaN(end.getTime())) throw new Error(`--end: not a time: ${values.end}`);
    const duration = parseSeconds(values.duration, "--duration");
    const queries: Record<string, string> = {};
    for (const q of values.query ?? []) {
      const eq = q.indexOf("=");
      if (eq <= 0) throw new Error(`--query: expected name=PROMQL, got "${q}"`);
      queries[q.slice(0, eq)] = q.slice(eq + 1);
    }
    const timeline = await recordTimeline(spec, {
      prometheus: values.prometheus,
      start: new Date(end.getTime() - duration * 1000),
      end,
      stepSeconds: values.step ? parseSeconds(values.step, "--step") : 15,
      queries,
    });
    await Deno.writeTextFile(values.out, JSON.stringify(timeline, null, 1));
    console.log(
      `recorded ${timeline.samples.length} samples of ${Object.keys(timeline.queries).join(", ")} to ${values.out}`,
    );
    return 0;
  }
  console.error(USAGE);
  return command === undefined || command === "help" || command === "--help" ? 0 : 2;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    console.error(`amas scale: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
