/**
 * `deno task costs`: prints the cost recommendations as a table, from a running gateway or from a recorded
 * profile file (offline, priced with the bundled price data).
 *
 *   deno task costs [--url http://127.0.0.1:8000] [--window 24h] [--detail]
 *   deno task costs --profile profile.json [--detail]
 *   deno task costs --url … --record profile.json      (saves the live profile for later replay)
 *
 * The API key and admin token come from `AMAS_API_KEY` and `AMAS_ADMIN_TOKEN` (or `--key` / `--admin-token`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../config.ts";
import { PriceTable } from "./prices.ts";
import { type CostProfile, recommend, type Recommendation } from "./recommendations.ts";

/** Renders recommendations as a plain-text table (largest saving first, as given). */
export function formatTable(recommendations: Recommendation[], options: { detail?: boolean } = {}): string {
  if (recommendations.length === 0) return "no recommendations: nothing to save at the observed traffic\n";
  const rows = recommendations.map((r) => [`$${r.estimated_monthly_saving_usd.toFixed(2)}`, r.id, r.title]);
  const head = ["saving/month", "id", "recommendation"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ").trimEnd();
  const out = [line(head), widths.map((w) => "-".repeat(w)).join("  ")];
  recommendations.forEach((r, i) => {
    out.push(line(rows[i]));
    if (options.detail) out.push(`${" ".repeat(widths[0] + 2)}${r.detail}`);
  });
  const total = recommendations.reduce((sum, r) => sum + r.estimated_monthly_saving_usd, 0);
  out.push(`${"-".repeat(widths[0])}`, `${`$${total.toFixed(2)}`.padStart(widths[0])}  total estimated monthly saving`);
  return out.join("\n") + "\n";
}

/** Reads and checks a recorded profile. */
export async function readProfile(path: string): Promise<CostProfile> {
  const profile = JSON.parse(await Deno.readTextFile(path)) as CostProfile;
  if (profile?.version !== 1 || !Array.isArray(profile.rows) || !Array.isArray(profile.cache)) {
    throw new Error(`${path} is not a cost profile (version 1 with rows and cache); record one with --record`);
  }
  return profile;
}

async function fetchJson(url: string, headers: Record<string, string>): Promise<unknown> {
  const res = await fetch(url, { headers });
  const body = await res.text();
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}: ${body.slice(0, 300)}`);
  return JSON.parse(body);
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      url: { type: "string" },
      window: { type: "string", default: "24h" },
      profile: { type: "string" },
      record: { type: "string" },
      key: { type: "string" },
      "admin-token": { type: "string" },
      detail: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  let recommendations: Recommendation[];
  if (values.profile) {
    const profile = await readProfile(values.profile);
    const rules = loadConfig().cost.recommendations;
    recommendations = recommend(profile, new PriceTable(profile.prices ?? {}), rules);
  } else {
    const base = (values.url ?? Deno.env.get("AMAS_URL") ?? "http://127.0.0.1:8000").replace(/\/+$/, "");
    const headers: Record<string, string> = {};
    const key = values.key ?? Deno.env.get("AMAS_API_KEY");
    const admin = values["admin-token"] ?? Deno.env.get("AMAS_ADMIN_TOKEN");
    if (key) headers.authorization = `Bearer ${key}`;
    if (admin) headers["x-amas-admin-token"] = admin;
    const window = encodeURIComponent(values.window!);
    if (values.record) {
      const profile = await fetchJson(`${base}/v1/costs/profile?window=${window}`, headers);
      await Deno.writeTextFile(values.record, JSON.stringify(profile, null, 2) + "\n");
      console.log(`recorded the profile of the last ${values.window} to ${values.record}`);
      return 0;
    }
    const body = await fetchJson(`${base}/v1/costs/recommendations?window=${window}`, headers) as {
      recommendations: Recommendation[];
    };
    recommendations = body.recommendations;
  }
  console.log(values.json ? JSON.stringify(recommendations, null, 2) : formatTable(recommendations, values));
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    console.error(`costs: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
