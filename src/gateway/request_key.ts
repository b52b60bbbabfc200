/**
 * The identity of a request: two calls with the same key would get the same answer from the upstream, so they
 * may share one in-flight call (single-flight) and one exact cache entry. It covers the tenant, the agent, the
 * model, the whole conversation and every parameter that changes the answer; it leaves out transport-only fields
 * (`stream`, `stream_options`, `user`).
 *
 * @module
 */
import type { ChatCall } from "./stages.ts";

const TRANSPORT_ONLY = new Set(["stream", "stream_options", "user"]);

/** JSON with object keys sorted, so that key order in the client's body does not change the identity. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value as Record<string, unknown>).filter((k) =>
    (value as Record<string, unknown>)[k] !== undefined
  ).sort();
  return `{${
    keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(",")
  }}`;
}

/** The key of a call: tenant, agent and the canonical request without transport-only fields. */
export function requestKey(call: Pick<ChatCall, "tenant" | "agentId" | "request">): string {
  const body: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(call.request)) if (!TRANSPORT_ONLY.has(k)) body[k] = v;
  return `${call.tenant.length}:${call.tenant}|${call.agentId.length}:${call.agentId}|${canonicalJson(body)}`;
}
