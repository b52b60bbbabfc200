/**
 * `deno task load list` and `deno task load run <scenario> [options]`.
 *
 * Without `--target` the embedded gateway is started on a free loopback port and stopped afterwards. The exit
 * code is the verdict: 0 when every SLO holds (and no regression against `--baseline`), 1 when one fails, 2 for
 * a usage error or a target that cannot be reached.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { SCENARIOS } from "../../bench/scenarios/mod.ts";
import { applyOverrides, defineScenario, type Scenario, scenarioDurationS, type Slo } from "./scenario.ts";
import { runScenario } from "./runner.ts";
import { type Baseline, readBaseline, type RunResult } from "./result.ts";
import { renderHtml } from "./report_html.ts";
import { ProgressPrinter, summaryText } from "./progress.ts";
import { externalTarget, startEmbeddedGateway, type Target } from "./target.ts";
import { LoadMetrics } from "./load_metrics.ts";

const USAGE = `usage:
  deno task load list
  deno task load run <scenario | path/to/scenario.ts> [options]

options:
  --target URL         load this gateway instead of starting the embedded one (http://127.0.0.1:… only)
  --baseline FILE      compare with an earlier result JSON (regression = significant AND beyond tolerance)
  --out DIR            where the JSON and HTML reports go (default results/load)
  --duration S         stretch or shrink the scenario to S seconds
  --rate R             scale an open-model scenario so its peak arrival rate is R req/s (minRps scales too)
  --vus N              scale a closed-model scenario so its peak is N virtual users
  --slo NAME=VALUE     override an SLO threshold, e.g. --slo p95Ms=300 (repeatable)
  --tolerance F        material change for the baseline comparison (default 0.1 = 10 %)
  --alpha A            significance level of the baseline comparison (default 0.05)
  --metrics-port P     export amas_load_test_* metrics in Prometheus format on 127.0.0.1:P while running
  --api-key KEY        bearer key for the target (default: AMAS_LOAD_API_KEY)
  --admin-token TOKEN  admin token for failure injection (default: AMAS_ADMIN_TOKEN)
  --in-process         run the embedded gateway inside this process instead of a child process
  --gateway-env K=V    extra environment for the embedded gateway (repeatable)
  --quiet              no live progress`;

/** Usage errors: exit code 2 with a message. */
class UsageError extends Error {}

const SLO_KEYS = new Set([
  "p50Ms",
  "p95Ms",
  "p99Ms",
  "maxErrorRate",
  "minRps",
  "minCacheHitRate",
  "maxDroppedRate",
  "ttftP95Ms",
]);

function parseNumber(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new UsageError(`--${name} needs a non-negative number, got "${raw}"`);
  return value;
}

function parsePairs(name: string, raw: string[] | undefined): [string, string][] {
  return (raw ?? []).map((pair) => {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--${name} takes NAME=VALUE, got "${pair}"`);
    return [pair.slice(0, eq), pair.slice(eq + 1)];
  });
}

async function loadScenario(nameOrPath: string): Promise<Scenario> {
  if (SCENARIOS[nameOrPath]) return SCENARIOS[nameOrPath];
  if (/\.(ts|js|mjs)$/.test(nameOrPath)) {
    const url = new URL(nameOrPath, `file://${Deno.cwd()}/`).href;
    const mod = await import(url);
    return defineScenario(mod.default ?? mod.scenario);
  }
  throw new UsageError(
    `unknown scenario "${nameOrPath}": run 'deno task load list' for the built-in ones, or pass a .ts file`,
  );
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

function list(): void {
  console.log("scenarios (deno task load run <name>):");
  for (const s of Object.values(SCENARIOS)) {
    const load = s.load.model === "open"
      ? `open, peak ${Math.max(...s.load.stages.map((x) => x.rate))} req/s`
      : `closed, peak ${Math.max(...s.load.stages.map((x) => x.vus))} users`;
    console.log(
      `  ${s.name.padEnd(26)} ${String(scenarioDurationS(s)).padStart(4)} s  ${load.padEnd(24)} ${s.description}`,
    );
  }
}

/** Runs the CLI; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        target: { type: "string" },
        baseline: { type: "string" },
        out: { type: "string" },
        duration: { type: "string" },
        rate: { type: "string" },
        vus: { type: "string" },
        slo: { type: "string", multiple: true },
        tolerance: { type: "string" },
        alpha: { type: "string" },
        "metrics-port": { type: "string" },
        "api-key": { type: "string" },
        "admin-token": { type: "string" },
        "in-process": { type: "boolean" },
        "gateway-env": { type: "string", multiple: true },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    console.error(`load: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, name] = positionals;
  if (values.help || command === undefined) {
    console.log(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  if (command === "list") {
    list();
    return 0;
  }
  if (command !== "run" || !name) {
    console.error(`load: expected 'list' or 'run <scenario>'\n${USAGE}`);
    return 2;
  }

  let scenario: Scenario;
  let baseline: (Baseline & { file: string }) | undefined;
  let metricsPort: number | undefined;
  let tolerance: number | undefined;
  let alpha: number | undefined;
  try {
    const slo: Partial<Record<Exclude<keyof Slo, "tags">, number>> = {};
    for (const [key, raw] of parsePairs("slo", values.slo)) {
      if (!SLO_KEYS.has(key)) throw new UsageError(`--slo: unknown threshold "${key}"; use one of ${[...SLO_KEYS]}`);
      slo[key as Exclude<keyof Slo, "tags">] = parseNumber(`slo ${key}`, raw);
    }
    scenario = applyOverrides(await loadScenario(name), {
      durationS: parseNumber("duration", values.duration),
      rate: parseNumber("rate", values.rate),
      vus: parseNumber("vus", values.vus),
      slo,
    });
    if (values.baseline) baseline = { ...(await readBaseline(values.baseline)), file: values.baseline };
    if (baseline && baseline.scenario !== scenario.name) {
      console.error(`load: note: the baseline is from scenario ${baseline.scenario}, this run is ${scenario.name}`);
    }
    metricsPort = parseNumber("metrics-port", values["metrics-port"]);
    tolerance = parseNumber("tolerance", values.tolerance);
    alpha = parseNumber("alpha", values.alpha);
    if (values.target) {
      const url = new URL(values.target);
      if (url.protocol !== "http:") throw new UsageError("--target must be an http:// URL");
    }
  } catch (err) {
    console.error(`load: ${(err as Error).message}`);
    return 2;
  }

  let target: Target;
  try {
    if (values.target) {
      target = externalTarget(values.target);
    } else {
      const env = Object.fromEntries(parsePairs("gateway-env", values["gateway-env"]));
      console.error("load: starting the embedded gateway …");
      target = await startEmbeddedGateway({
        env: { ...scenario.embedded.env, ...env },
        inProcess: values["in-process"],
      });
      console.error(`load: embedded gateway at ${target.url}`);
    }
  } catch (err) {
    console.error(`load: ${(err as Error).message}`);
    return 2;
  }

  const metrics = metricsPort === undefined ? undefined : LoadMetrics.start(metricsPort, scenario.name);
  if (metrics) console.error(`load: metrics at ${metrics.url}`);
  const printer = values.quiet ? undefined : new ProgressPrinter();
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  let result: RunResult;
  try {
    result = await runScenario(scenario, {
      targetUrl: target.url,
      targetKind: target.kind,
      apiKey: values["api-key"] ?? Deno.env.get("AMAS_LOAD_API_KEY"),
      adminToken: values["admin-token"] ?? Deno.env.get("AMAS_ADMIN_TOKEN"),
      baseline,
      compare: { tolerance, alpha },
      onProgress: printer ? (p) => printer.update(p) : undefined,
      onSample: metrics ? (s) => metrics.record(s) : undefined,
      signal: abort.signal,
    });
  } catch (err) {
    printer?.done();
    console.error(`load: the run failed: ${(err as Error).message}`);
    await target.stop();
    await metrics?.stop();
    return 2;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
  }
  printer?.done();
  await target.stop();
  await metrics?.stop();

  const out = values.out ?? "results/load";
  await Deno.mkdir(out, { recursive: true });
  const base = `${out}/${scenario.name}-${stamp(new Date(result.startedAt))}`;
  await Deno.writeTextFile(`${base}.json`, JSON.stringify(result, null, 2) + "\n");
  await Deno.writeTextFile(`${base}.html`, renderHtml(result));
  console.log(summaryText(result));
  console.log(`report: ${base}.json  ${base}.html`);
  return result.passed ? 0 : 1;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
