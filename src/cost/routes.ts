/**
 * `GET /v1/costs`, `GET /v1/costs/recommendations` and `GET /v1/costs/profile`. A tenant sees its own figures; a
 * request that also carries the admin token (`x-amas-admin-token`), or any request in the loopback developer setup
 * without keys, sees every tenant plus the infrastructure rules (replicas, right-sizing).
 *
 * @module
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import type { GatewayEnv } from "../http/context.ts";
import type { RouteMounter } from "../app.ts";
import { validate } from "../http/validation.ts";
import type { CostAccountant, Visibility } from "./accountant.ts";

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses a window like `15m`, `1h`, `24h`, `7d`; at most `maxHours`. */
export function parseWindow(raw: string, maxHours: number): { label: string; ms: number } | string {
  const m = /^(\d{1,5})([mhd])$/.exec(raw);
  if (!m) return "window must be a number and a unit m, h or d, e.g. 1h, 24h, 7d";
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  if (ms < 60_000) return "window must be at least 1m";
  if (ms > maxHours * 3_600_000) return `window must be at most ${maxHours}h (cost.retentionHours)`;
  return { label: raw, ms };
}

function querySchema(maxHours: number) {
  const window = z.string().default("24h").transform((raw, ctx) => {
    const parsed = parseWindow(raw, maxHours);
    if (typeof parsed === "string") {
      ctx.addIssue({ code: "custom", message: parsed });
      return z.NEVER;
    }
    return parsed;
  });
  return {
    summary: z.object({ by: z.enum(["agent", "model", "tenant"]).default("agent"), window }),
    window: z.object({ window }),
  };
}

/** Whether the request may see every tenant: the admin guard passes (errors only when a token was offered). */
async function visibility(c: Context<GatewayEnv>, admin: MiddlewareHandler<GatewayEnv>): Promise<Visibility> {
  const offered = c.req.header("x-amas-admin-token") !== undefined;
  let passed = false;
  try {
    await admin(c, () => {
      passed = true;
      return Promise.resolve();
    });
  } catch (err) {
    if (offered) throw err;
  }
  return passed ? { admin: true } : { admin: false, tenant: c.get("tenant") };
}

/** The cost routes, for the `mounts` of the app. */
export function costRoutes(accountant: CostAccountant, maxHours: number): RouteMounter {
  const schemas = querySchema(maxHours);
  return function mountCosts(app: Hono<GatewayEnv>, guards): void {
    app.get("/v1/costs", async (c) => {
      const q = validate(schemas.summary, c.req.query());
      return c.json(await accountant.summary(q.by, q.window, await visibility(c, guards.admin)));
    });
    app.get("/v1/costs/recommendations", async (c) => {
      const q = validate(schemas.window, c.req.query());
      const advice = await accountant.advise(q.window.ms, await visibility(c, guards.admin));
      return c.json({
        window: q.window.label,
        observed_seconds: advice.observedSeconds,
        recommendations: advice.recommendations,
        notes: advice.notes,
      });
    });
    app.get("/v1/costs/profile", async (c) => {
      const q = validate(schemas.window, c.req.query());
      return c.json(await accountant.profile(q.window.ms, await visibility(c, guards.admin)));
    });
  };
}
