import assert from "node:assert/strict";
import fc from "fast-check";
import { type CacheKeys, cacheKeys, maxTokensClass, temperatureClass } from "../../src/cache/scope.ts";
import type { ChatRequest } from "../../src/gateway/chat_schema.ts";

function keys(request: Partial<ChatRequest>, tenant = "acme", agentId = "default"): CacheKeys {
  const k = cacheKeys({
    tenant,
    agentId,
    request: { model: "sim-small", messages: [{ role: "user", content: "hello" }], ...request } as ChatRequest,
  });
  assert.ok(!("reason" in k), "expected a cacheable call");
  return k;
}

Deno.test("the exact key ignores whitespace and transport fields but not the words", () => {
  const base = keys({ messages: [{ role: "user", content: "What is  the capital\nof France?" }] });
  assert.equal(
    keys({ messages: [{ role: "user", content: " What is the capital of France? " }] }).exactKey,
    base.exactKey,
  );
  assert.equal(
    keys({ messages: [{ role: "user", content: "What is the capital of France?" }], stream: true }).exactKey,
    base.exactKey,
  );
  assert.notEqual(
    keys({ messages: [{ role: "user", content: "What is the capital of Spain?" }] }).exactKey,
    base.exactKey,
  );
  assert.equal(base.semanticText, "What is the capital of France?");
});

Deno.test("scope covers tenant, agent, model, system prompt, earlier turns and answer-changing parameters", () => {
  const base = keys({});
  const differs = [
    keys({}, "globex"),
    keys({}, "acme", "other-agent"),
    keys({ model: "sim-large" }),
    keys({ messages: [{ role: "system", content: "Be terse." }, { role: "user", content: "hello" }] }),
    keys({
      messages: [
        { role: "user", content: "hi" },
        { role: "assistant", content: "Hi! How can I help?" },
        { role: "user", content: "hello" },
      ],
    }),
    keys({ temperature: 1.5 }),
    keys({ seed: 7 }),
    keys({ max_tokens: 4000 }),
    keys({ n: 2 }),
    keys({ stop: ["\n"] }),
    keys({ top_p: 0.5 }),
    keys({ response_format: { type: "json_object" } }),
    keys({ tools: [{ type: "function", function: { name: "f", parameters: {} } }] }),
  ];
  for (const k of differs) assert.notEqual(k.scopeKey, base.scopeKey);
  assert.equal(new Set(differs.map((k) => k.scopeKey)).size, differs.length);
  // Within a class, parameters share answers.
  assert.equal(keys({ temperature: 0.5 }).scopeKey, keys({ temperature: 0.6 }).scopeKey);
  assert.equal(keys({ max_tokens: 500 }).scopeKey, keys({ max_tokens: 600 }).scopeKey);
  assert.equal(keys({ stream: true, user: "u1" }).scopeKey, base.scopeKey);
});

Deno.test("tool calls in flight and assistant-last conversations are not cacheable", () => {
  const tool = cacheKeys({
    tenant: "acme",
    agentId: "a",
    request: {
      model: "m",
      messages: [
        { role: "user", content: "weather?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "c1", type: "function", function: { name: "w", arguments: "{}" } }],
        },
        { role: "tool", content: "sunny", tool_call_id: "c1" },
      ],
    } as ChatRequest,
  });
  assert.deepEqual(tool, { reason: "tool_call_in_flight" });
});

Deno.test("images in the last turn make the call exact-only", () => {
  const k = keys({
    messages: [{
      role: "user",
      content: [{ type: "text", text: "what is this?" }, { type: "image_url", image_url: { url: "data:x" } }],
    }],
  });
  assert.equal(k.semanticText, undefined);
});

Deno.test("classes of temperature and max_tokens", () => {
  assert.equal(temperatureClass(undefined), "default");
  assert.equal(temperatureClass(0), "0");
  assert.notEqual(temperatureClass(0.2), temperatureClass(0.9));
  assert.equal(maxTokensClass(100), maxTokensClass(200));
  assert.notEqual(maxTokensClass(50), maxTokensClass(4000));
});

Deno.test("property: two tenants never share a scope or an exact key", () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), fc.string(), (a, b, text) => {
      fc.pre(a !== b);
      const request = { model: "m", messages: [{ role: "user" as const, content: text }] } as ChatRequest;
      const ka = cacheKeys({ tenant: a, agentId: "x", request }) as CacheKeys;
      const kb = cacheKeys({ tenant: b, agentId: "x", request }) as CacheKeys;
      return ka.scopeKey !== kb.scopeKey && ka.exactKey !== kb.exactKey;
    }),
    { numRuns: 300 },
  );
});
