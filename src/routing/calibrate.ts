/**
 * `deno task calibrate [--config FILE] [--requests N] [--concurrency C] [--max-tokens T] [--timeout-ms MS]
 * [--deployment NAME]… [--out FILE]`: measures every configured deployment (or the named ones) and writes the
 * JSON results file plus a markdown summary beside it (same name, `.md`), and prints the summary.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, extname } from "node:path";
import { ConfigError, loadConfig } from "../config.ts";
import { ProviderRegistry } from "../providers/registry.ts";
import { calibrate, type CalibrationReport, calibrationTargets, renderMarkdown } from "./calibration.ts";

const USAGE = `usage: deno task calibrate [--config FILE] [--requests N] [--concurrency C] [--max-tokens T]
                           [--timeout-ms MS] [--deployment NAME]... [--out FILE]

Measures each deployment of the configuration (providers.deployments; without any, the built-in models) with
N streamed requests (default 20, at most 1000), C at a time (default 2), and writes FILE (default
calibration.json) plus FILE with .md: time to first token, tokens/s, error rate, suggested weights and latency
targets, and a simProfile per deployment for replaying it in simulation.`;

/** The parsed command line. */
export interface CalibrateArgs {
  config?: string;
  requests: number;
  concurrency: number;
  maxTokens: number;
  timeoutMs: number;
  deployments: string[];
  out: string;
}

/** Parses the command line; throws a usage error naming the bad flag. */
export function parseCalibrateArgs(args: string[]): CalibrateArgs | "help" {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: "string" },
      requests: { type: "string", default: "20" },
      concurrency: { type: "string", default: "2" },
      "max-tokens": { type: "string", default: "64" },
      "timeout-ms": { type: "string", default: "30000" },
      deployment: { type: "string", multiple: true, default: [] },
      out: { type: "string", default: "calibration.json" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return "help";
  const int = (flag: string, value: string, min: number, max: number) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new Error(`--${flag} must be a whole number from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
  return {
    config: values.config,
    requests: int("requests", values.requests, 1, 1000),
    concurrency: int("concurrency", values.concurrency, 1, 64),
    maxTokens: int("max-tokens", values["max-tokens"], 1, 4096),
    timeoutMs: int("timeout-ms", values["timeout-ms"], 100, 600_000),
    deployments: values.deployment,
    out: values.out,
  };
}

/** Runs a calibration as the command line asks; returns the report and where it was written. */
export async function runCalibration(
  args: CalibrateArgs,
  log: (line: string) => void = () => {},
): Promise<{ report: CalibrationReport; json: string; markdown: string }> {
  const env = { ...Deno.env.toObject() };
  if (args.config) env.AMAS_CONFIG = args.config;
  const config = loadConfig({ env });
  const registry = new ProviderRegistry(config.providers, { routedModels: Object.keys(config.routing.models) });
  try {
    const targets = calibrationTargets(registry, config.providers.deployments, config.routing);
    log(`calibrating ${targets.map((t) => t.name).join(", ")}: ${args.requests} requests each`);
    const report = await calibrate(targets, config.routing, {
      requests: args.requests,
      concurrency: args.concurrency,
      maxTokens: args.maxTokens,
      timeoutMs: args.timeoutMs,
      only: args.deployments,
      onProgress: (name, done, total) => {
        if (done === total) log(`  ${name}: ${total} requests done`);
      },
    });
    const markdownPath = extname(args.out) === ".json" ? args.out.replace(/\.json$/, ".md") : `${args.out}.md`;
    await Deno.mkdir(dirname(args.out), { recursive: true });
    await Deno.writeTextFile(args.out, JSON.stringify(report, null, 2) + "\n");
    await Deno.writeTextFile(markdownPath, renderMarkdown(report));
    return { report, json: args.out, markdown: markdownPath };
  } finally {
    await registry.close();
  }
}

if (import.meta.main) {
  let args: CalibrateArgs | "help";
  try {
    args = parseCalibrateArgs(Deno.args);
  } catch (err) {
    console.error(`calibrate: ${(err as Error).message}\n\n${USAGE}`);
    Deno.exit(2);
  }
  if (args === "help") {
    console.log(USAGE);
    Deno.exit(0);
  }
  try {
    const { report, json, markdown } = await runCalibration(args, (line) => console.error(line));
    console.log(renderMarkdown(report));
    console.error(`wrote ${json} and ${markdown}`);
  } catch (err) {
    const message = err instanceof ConfigError ? err.message : (err as Error).message;
    console.error(`calibrate: ${message}`);
    Deno.exit(err instanceof ConfigError ? 2 : 1);
  }
}
