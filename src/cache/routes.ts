/**
 * The cache's HTTP routes (API.md): `POST /v1/cache/lookup`, `PUT /v1/cache` (admin), `DELETE /v1/cache/{id}`
 * (admin), `DELETE /v1/cache?agent_id=` (admin) and `GET /v1/cache/stats`. The tenant always comes from the API
 * key, never from the body, so one tenant can neither read nor invalidate another's entries.
 *
 * @module
 */
import { z } from "zod";
import type { Context } from "hono";
import type { RouteMounter } from "../app.ts";
import type { GatewayEnv } from "../http/context.ts";
import { NotFoundError } from "../errors.ts";
import { parseJsonBody, validate } from "../http/validation.ts";
import { agentIdOf } from "../http/routes/chat.ts";
import type { SemanticCache } from "./semantic_cache.ts";
import type { CacheEntry } from "../store/types.ts";

const agentId = z.string().optional();
const lookupSchema = z.object({
  query: z.string().min(1, "query must be a non-empty string").max(100_000),
  agent_id: agentId,
  use_semantic: z.boolean().default(true),
  model: z.string().min(1).max(256).optional(),
});

const completionSchema = z.looseObject({
  id: z.string(),
  object: z.literal("chat.completion"),
  created: z.number(),
  model: z.string(),
  choices: z.array(z.looseObject({
    index: z.number().int(),
    message: z.looseObject({ role: z.literal("assistant"), content: z.string().nullable() }),
    finish_reason: z.string().nullable(),
  })).min(1),
});

const putSchema = z.object({
  query: z.string().min(1, "query must be a non-empty string").max(100_000),
  response: z.union([z.string().min(1), completionSchema]),
  agent_id: agentId,
  model: z.string().min(1).max(256).optional(),
  ttl_seconds: z.number().int().positive().optional(),
  cost_usd: z.number().min(0).optional(),
});

function answerText(entry: CacheEntry): string | null {
  return entry.response.choices[0]?.message.content ?? null;
}

/** Mounts the cache routes. */
export function cacheRoutes(cache: SemanticCache): RouteMounter {
  return (app, { admin }) => {
    app.post("/v1/cache/lookup", async (c: Context<GatewayEnv>) => {
      const body = validate(lookupSchema, await parseJsonBody(c));
      const found = await cache.lookupText({
        tenant: c.get("tenant"),
        agentId: agentIdOf(body.agent_id),
        query: body.query,
        model: body.model,
        useSemantic: body.use_semantic,
      });
      if (!found.entry) return c.json({ hit: null });
      return c.json({
        hit: found.hit,
        ...(found.similarity !== undefined ? { similarity: Number(found.similarity.toFixed(4)) } : {}),
        response: answerText(found.entry),
        entry_id: found.entry.id,
        completion: found.entry.response,
      });
    });

    app.put("/v1/cache", admin, async (c: Context<GatewayEnv>) => {
      const body = validate(putSchema, await parseJsonBody(c));
      const entry = await cache.putText({
        tenant: c.get("tenant"),
        agentId: agentIdOf(body.agent_id),
        query: body.query,
        response: body.response as Parameters<SemanticCache["putText"]>[0]["response"],
        model: body.model,
        ttlSeconds: body.ttl_seconds,
        costUsd: body.cost_usd,
      });
      return c.json({ id: entry.id, stored: true, expires_at: new Date(entry.expiresAt).toISOString() }, 201);
    });

    app.delete("/v1/cache/:id", admin, async (c: Context<GatewayEnv>) => {
      const id = c.req.param("id") ?? "";
      if (!(await cache.invalidate(id, c.get("tenant")))) throw new NotFoundError(`no cache entry ${id.slice(0, 64)}`);
      return c.json({ deleted: 1, id });
    });

    app.delete("/v1/cache", admin, async (c: Context<GatewayEnv>) => {
      const raw = c.req.query("agent_id");
      const agent = raw === undefined ? undefined : agentIdOf(raw);
      const deleted = await cache.invalidateNamespace(c.get("tenant"), agent);
      return c.json({ deleted, tenant: c.get("tenant"), ...(agent ? { agent_id: agent } : {}) });
    });

    app.get("/v1/cache/stats", (c: Context<GatewayEnv>) => c.json(cache.stats()));
  };
}
