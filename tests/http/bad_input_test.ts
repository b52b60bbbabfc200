/**
 * Bad input never gets a 500 and never crashes the process: generated bodies and headers (fast-check), malformed
 * JSON, a 10 MB body, wrong types, unknown models, bad auth. Each case's status is asserted.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { chatBody, postJson, startGateway, type TestGateway } from "../support/gateway.ts";

const KEY = "sk-acme-000001";
const FAST_SIM = { providers: { sim: { models: { "sim-small": { ttftMs: 0, jitterMs: 0, tokensPerSecond: 1e6 } } } } };

async function withGateway(fn: (gw: TestGateway, url: string) => Promise<void>): Promise<void> {
  await using gw = await startGateway({
    env: { AMAS_API_KEYS: `acme=${KEY}`, AMAS_ADMIN_TOKEN: "admin-token-1", AMAS_MAX_BODY_BYTES: "1048576" },
    overrides: FAST_SIM,
  });
  await fn(gw, `${gw.url}/v1/chat/completions`);
  const health = await fetch(`${gw.url}/healthz`);
  assert.equal(health.status, 200, "the process still answers after the bad input");
  await health.body?.cancel();
}

async function statusOf(response: Response): Promise<number> {
  const text = await response.text();
  if (response.status >= 400) {
    const body = JSON.parse(text);
    assert.equal(typeof body.error?.message, "string", `OpenAI-shaped error body: ${text.slice(0, 200)}`);
    assert.equal(typeof body.error?.type, "string");
  }
  return response.status;
}

const auth = { authorization: `Bearer ${KEY}` };

Deno.test("fixed bad inputs get the right status", async () => {
  await withGateway(async (gw, url) => {
    const cases: [string, () => Promise<Response>, number][] = [
      ["malformed JSON", () => postJson(url, "{not json", auth), 400],
      ["empty body", () => postJson(url, "", auth), 400],
      ["JSON array", () => postJson(url, "[1,2]", auth), 400],
      ["missing messages", () => postJson(url, { model: "sim-small" }, auth), 400],
      ["empty messages", () => postJson(url, { model: "sim-small", messages: [] }, auth), 400],
      ["model is a number", () => postJson(url, { model: 42, messages: [{ role: "user", content: "x" }] }, auth), 400],
      [
        "bad role",
        () => postJson(url, { model: "sim-small", messages: [{ role: "wizard", content: "x" }] }, auth),
        400,
      ],
      ["temperature too high", () => postJson(url, chatBody("x", { temperature: 7 }), auth), 400],
      ["stream not boolean", () => postJson(url, chatBody("x", { stream: "yes" }), auth), 400],
      ["unknown model", () => postJson(url, chatBody("x", { model: "gpt-unknown" }), auth), 404],
      ["no key", () => postJson(url, chatBody("x")), 401],
      ["wrong key", () => postJson(url, chatBody("x"), { authorization: "Bearer sk-nope-000000" }), 401],
      ["malformed authorization", () => postJson(url, chatBody("x"), { authorization: "Basic abc" }), 401],
      ["bad agent header", () => postJson(url, chatBody("x"), { ...auth, "x-amas-agent": "a b/c" }), 400],
      ["bad cache header", () => postJson(url, chatBody("x"), { ...auth, "x-amas-cache": "sometimes" }), 400],
      ["10 MB body", () => postJson(url, chatBody("x".repeat(10 * 1024 * 1024)), auth), 413],
      [
        "10 MB body without content-length",
        () =>
          fetch(url, {
            method: "POST",
            headers: { ...auth, "content-type": "application/json" },
            body: new Blob([JSON.stringify(chatBody("y".repeat(10 * 1024 * 1024)))]).stream(),
          }),
        413,
      ],
      ["unknown route", () => fetch(`${gw.url}/v1/nothing-here`, { headers: auth }), 404],
      ["admin without token", () => fetch(`${gw.url}/admin/sim`, { method: "PUT", body: "{}" }), 401],
      [
        "admin with a tenant key",
        () => fetch(`${gw.url}/admin/sim`, { method: "PUT", body: "{}", headers: { "x-amas-admin-token": KEY } }),
        403,
      ],
      [
        "admin patch with wrong types",
        () =>
          fetch(`${gw.url}/admin/sim`, {
            method: "PUT",
            body: JSON.stringify({ error_rate: "lots" }),
            headers: { "x-amas-admin-token": "admin-token-1" },
          }),
        400,
      ],
      ["valid request", () => postJson(url, chatBody("hello"), auth), 200],
    ];
    for (const [name, send, expected] of cases) {
      const response = await send();
      assert.equal(response.status, expected, name);
      if (expected === 413) {
        // The gateway answers before reading a huge body and may close the connection on the rest of the upload,
        // so the client can fail to read the error body; the status is what counts.
        await response.body?.cancel();
        continue;
      }
      assert.equal(await statusOf(response), expected, name);
    }
  });
});

Deno.test("generated bodies never get a 500", async () => {
  await withGateway(async (_gw, url) => {
    // Arbitrary JSON values as the whole body: never valid, always a 400.
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        const status = await statusOf(await postJson(url, JSON.stringify(value), auth));
        assert.equal(status, 400, `body ${JSON.stringify(value).slice(0, 120)}`);
      }),
      { numRuns: 150 },
    );
    // A valid request with one field replaced by an arbitrary value: accepted, rejected or unknown model, never 5xx.
    const fields = ["model", "messages", "stream", "temperature", "max_tokens", "n", "stop", "tools", "seed", "top_p"];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...fields), fc.jsonValue(), async (field, value) => {
        const body = { ...chatBody("generated"), [field]: value };
        const status = await statusOf(await postJson(url, body, auth));
        assert.ok([200, 400, 404].includes(status), `${field}=${JSON.stringify(value).slice(0, 80)} → ${status}`);
      }),
      { numRuns: 200 },
    );
    // Arbitrary strings as the raw body: malformed JSON or a JSON scalar, always 400.
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), async (text) => {
        const status = await statusOf(await postJson(url, text, auth));
        assert.equal(status, 400);
      }),
      { numRuns: 100 },
    );
  });
});

Deno.test("generated headers never get a 500", async () => {
  await withGateway(async (_gw, url) => {
    const headerValue = fc.string({ maxLength: 80 }).filter((s) => /^[\x20-\x7e]*$/.test(s));
    await fc.assert(
      fc.asyncProperty(headerValue, headerValue, headerValue, async (agent, cacheMode, authorization) => {
        const status = await statusOf(
          await postJson(url, chatBody("headers"), {
            authorization: authorization.startsWith("x") ? authorization : `Bearer ${KEY}`,
            "x-amas-agent": agent,
            "x-amas-cache": cacheMode,
          }),
        );
        assert.ok([200, 400, 401].includes(status), `agent=${agent} cache=${cacheMode} → ${status}`);
      }),
      { numRuns: 150 },
    );
  });
});
