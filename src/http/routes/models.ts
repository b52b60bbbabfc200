/**
 * `GET /v1/models`: the models this gateway routes by name, in the OpenAI list shape.
 *
 * @module
 */
import type { Context } from "hono";
import type { ProviderRegistry } from "../../providers/registry.ts";

/** Lists the known models. */
export function listModels(registry: ProviderRegistry) {
  const created = Math.floor(Date.now() / 1000);
  return function listModels(c: Context): Response {
    return c.json({
      object: "list",
      data: registry.listModels().map((id) => ({ id, object: "model", created, owned_by: "amas" })),
    });
  };
}
