/**
 * `POST /v1/jobs` and `GET /v1/jobs/{id}`: accept a chat request as an asynchronous job (202 + id) and report its
 * status and result. A tenant sees only its own jobs: another tenant's job id answers 404, exactly like an unknown
 * one, so ids reveal nothing.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { z } from "zod";
import type { GatewayEnv } from "../http/context.ts";
import { chatRequestSchema } from "../gateway/chat_schema.ts";
import { InvalidRequestError, NotFoundError } from "../errors.ts";
import { parseJsonBody, validate } from "../http/validation.ts";
import { agentIdOf } from "../http/routes/chat.ts";
import { type JobsConfig, poolOf, streamOf } from "./config.ts";
import { isJobId, type JobQueue, jobView } from "./types.ts";

const jobFields = z.object({
  agent_id: z.string().regex(
    /^[A-Za-z0-9_.:@-]{1,128}$/,
    "agent_id must be 1-128 characters of letters, digits and _.:@-",
  )
    .optional(),
  pool: z.string().min(1).max(64).optional(),
});

/** Mounts the job routes. */
export function mountJobRoutes(app: Hono<GatewayEnv>, queue: JobQueue, config: JobsConfig): void {
  app.post("/v1/jobs", async (c: Context<GatewayEnv>) => {
    const body = await parseJsonBody(c);
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new InvalidRequestError("the body must be a chat request object, with optional agent_id and pool");
    }
    const { agent_id, pool: requestedPool, ...rest } = body as Record<string, unknown>;
    const fields = validate(jobFields, { agent_id, pool: requestedPool });
    const request = validate(chatRequestSchema, rest);
    if (request.stream) {
      throw new InvalidRequestError("jobs return whole completions; leave out stream or set it to false", {
        param: "stream",
      });
    }
    const agentId = fields.agent_id ?? agentIdOf(c.req.header("x-amas-agent"));
    const pool = poolOf(config, fields.pool, agentId);
    if (!streamOf(config, pool)) {
      throw new InvalidRequestError(
        `unknown pool '${pool}'; use general${Object.keys(config.pools).map((p) => `, ${p}`).join("")}`,
        { param: "pool" },
      );
    }
    const job = await queue.enqueue({ tenant: c.get("tenant"), agentId, pool, request });
    return c.json({ id: job.id, object: "job", status: job.status, pool: job.pool }, 202, {
      location: `/v1/jobs/${job.id}`,
    });
  });

  app.get("/v1/jobs/:id", async (c: Context<GatewayEnv>) => {
    const id = c.req.param("id") ?? "";
    const job = isJobId(id) ? await queue.get(id) : undefined;
    // Another tenant's job is reported exactly as a missing one.
    if (!job || job.tenant !== c.get("tenant")) throw new NotFoundError(`no job ${id.slice(0, 64)}`);
    return c.json(jobView(job));
  });
}
