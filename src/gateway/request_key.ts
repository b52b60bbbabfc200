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
  return write(value, undefined);
}

/**
 * One pass that appends to a string (no per-level arrays of parts to map and join): the request key is computed
 * for every chat call, and cache keys stored in a shared store depend on this exact output. Keys in `skip` are
 * left out of the top-level object only.
 */
function write(value: unknown, skip: ReadonlySet<string> | undefined): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ",";
      out += write(value[i], undefined);
    }
    return out + "]";
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = "{";
  let first = true;
  for (const key of keys) {
    const v = record[key];
    if (v === undefined || skip?.has(key)) continue;
    if (!first) out += ",";
    first = false;
    out += JSON.stringify(key) + ":" + write(v, undefined);
  }
  return out + "}";
}

/** The key of a call: tenant, agent and the canonical request without transport-only fields. */
export function requestKey(call: Pick<ChatCall, "tenant" | "agentId" | "request">): string {
  return `${call.tenant.length}:${call.tenant}|${call.agentId.length}:${call.agentId}|${
    write(call.request, TRANSPORT_ONLY)
  }`;
}
