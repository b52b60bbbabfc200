/**
 * The request key and canonical JSON keep their exact output (cache keys in a shared store depend on it): checked
 * against the straightforward definition on arbitrary JSON values.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { canonicalJson, requestKey } from "../../src/gateway/request_key.ts";
import type { ChatRequest } from "../../src/gateway/chat_schema.ts";

/** The definition: sorted keys, undefined members left out, arrays in order. */
function reference(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map((v) => reference(v)).join(",")}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(record[k])}`).join(",")}}`;
}

Deno.test("canonicalJson is the sorted-key JSON of any value", () => {
  fc.assert(fc.property(fc.jsonValue(), (v) => canonicalJson(v) === reference(v)), { numRuns: 500 });
  assert.equal(canonicalJson({ b: 1, a: [1, { d: undefined, c: "x" }], e: undefined }), '{"a":[1,{"c":"x"}],"b":1}');
  // Key order in the body does not matter; values and array order do.
  assert.equal(canonicalJson({ x: 1, y: 2 }), canonicalJson({ y: 2, x: 1 }));
  assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
});

Deno.test("requestKey: tenant, agent and the request without stream, stream_options and user", () => {
  const request = {
    model: "m",
    messages: [{ role: "user", content: "hi" }],
    temperature: 0.5,
  } as ChatRequest;
  const key = requestKey({ tenant: "t", agentId: "a", request });
  assert.equal(key, `1:t|1:a|${reference(request)}`);
  const transport = { ...request, stream: true, stream_options: { include_usage: true }, user: "u-1" };
  assert.equal(requestKey({ tenant: "t", agentId: "a", request: transport as ChatRequest }), key);
  assert.notEqual(requestKey({ tenant: "t2", agentId: "a", request }), key);
  assert.notEqual(requestKey({ tenant: "t", agentId: "a2", request }), key);
  // Nested fields with those names are part of the identity (only the top-level transport fields are left out).
  const nested = { ...request, response_format: { type: "json", stream: true } } as unknown as ChatRequest;
  assert.ok(requestKey({ tenant: "t", agentId: "a", request: nested }).includes('"stream":true'));
});
