/**
 * The cache through the HTTP app: an in-process gateway on a free port, the simulated provider, the memory store
 * and the deterministic `hash` embedder (the USE-lite model has tests of its own in tests/embed/).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { chatBody, postJson, startGateway, type TestGateway } from "../support/gateway.ts";

const ACME = "sk-acme-test-1234";
const GLOBEX = "sk-globex-test-5678";
const ADMIN = "admin-token-1234";

async function gateway(cache: Record<string, unknown> = {}): Promise<TestGateway> {
  const gw = await startGateway({
    env: { AMAS_API_KEYS: `acme=${ACME},globex=${GLOBEX}`, AMAS_ADMIN_TOKEN: ADMIN },
    overrides: { cache: { embedder: "hash", similarityThreshold: 0.7, ...cache } },
  });
  await gw.gateway.cache!.whenReady();
  // Fast upstream: the tests are about the cache, not the provider's latency.
  await fetch(`${gw.url}/admin/sim`, {
    method: "PUT",
    headers: { "x-amas-admin-token": ADMIN, "content-type": "application/json" },
    body: JSON.stringify({ latency_ms: 1, jitter_ms: 0 }),
  }).then((r) => r.body?.cancel());
  return gw;
}

interface Answer {
  status: number;
  cache: string | null;
  similarity: string | null;
  timing: string;
  content?: string;
  body: Record<string, unknown>;
}

async function ask(
  gw: TestGateway,
  content: string,
  options: { key?: string; headers?: Record<string, string>; extra?: Record<string, unknown> } = {},
): Promise<Answer> {
  const res = await postJson(`${gw.url}/v1/chat/completions`, chatBody(content, options.extra), {
    authorization: `Bearer ${options.key ?? ACME}`,
    ...options.headers,
  });
  const body = await res.json();
  return {
    status: res.status,
    cache: res.headers.get("x-amas-cache"),
    similarity: res.headers.get("x-amas-cache-similarity"),
    timing: res.headers.get("server-timing") ?? "",
    content: body?.choices?.[0]?.message?.content,
    body,
  };
}

/** Store writes are write-behind: wait until the gateway holds `n` entries. */
async function settled(gw: TestGateway, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (gw.gateway.cache!.size < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  // The embedding of the last write lands just after the entry itself.
  await new Promise((r) => setTimeout(r, 30));
}

function admin(extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${ACME}`, "x-amas-admin-token": ADMIN, "content-type": "application/json", ...extra };
}

Deno.test("miss, then exact hit, then semantic hit, with headers and Server-Timing spans", async () => {
  await using gw = await gateway();
  const first = await ask(gw, "What is the capital of France?");
  assert.equal(first.status, 200);
  assert.equal(first.cache, "miss");
  assert.match(first.timing, /cache;dur=/);
  await settled(gw, 1);

  const exact = await ask(gw, "What is the capital of France?");
  assert.equal(exact.cache, "exact");
  assert.equal(exact.content, first.content);
  assert.doesNotMatch(exact.timing, /upstream;dur=/);
  assert.match(exact.timing, /cache;dur=/);

  const semantic = await ask(gw, "what's the capital of France");
  assert.equal(semantic.cache, "semantic");
  assert.ok(Number(semantic.similarity) >= 0.7 && Number(semantic.similarity) <= 1, semantic.similarity ?? "");
  assert.equal(semantic.content, first.content);
  assert.match(semantic.timing, /embed;dur=/);

  // A minimal pair is close enough for the threshold but the verifier refuses it.
  const other = await ask(gw, "What is the capital of Germany?");
  assert.equal(other.cache, "miss");
  assert.notEqual(other.content, first.content);
  const stats = gw.gateway.cache!.stats();
  assert.ok((stats.verifier_rejections.entity ?? 0) + (stats.verifier_rejections.content ?? 0) >= 1);
});

Deno.test("a hit replays as SSE when stream is true", async () => {
  await using gw = await gateway();
  const first = await ask(gw, "Explain the water cycle in one line");
  await settled(gw, 1);
  const res = await postJson(
    `${gw.url}/v1/chat/completions`,
    chatBody("Explain the water cycle in one line", { stream: true }),
    { authorization: `Bearer ${ACME}` },
  );
  assert.equal(res.headers.get("x-amas-cache"), "exact");
  assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
  const text = await res.text();
  const pieces = text.split("\n").filter((l) => l.startsWith("data: ") && l !== "data: [DONE]")
    .map((l) => JSON.parse(l.slice(6)))
    .map((chunk) => chunk.choices?.[0]?.delta?.content ?? "").join("");
  assert.equal(pieces, first.content);
  assert.match(text, /data: \[DONE\]/);
});

Deno.test("request controls: bypass, refresh, exact-only", async () => {
  await using gw = await gateway();
  await ask(gw, "How do I reset my password?");
  await settled(gw, 1);

  const bypass = await ask(gw, "How do I reset my password?", { headers: { "x-amas-cache": "bypass" } });
  assert.equal(bypass.cache, "bypass");

  const refresh = await ask(gw, "How do I reset my password?", { headers: { "x-amas-cache": "refresh" } });
  assert.equal(refresh.cache, "miss");
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await ask(gw, "How do I reset my password?")).cache, "exact");

  const exactOnly = await ask(gw, "how do I reset my password", { headers: { "x-amas-cache": "exact-only" } });
  assert.equal(exactOnly.cache, "miss");
  await settled(gw, 2);
  const semantic = await ask(gw, "How do I reset my password");
  assert.equal(semantic.cache, "semantic");

  const bad = await ask(gw, "x", { headers: { "x-amas-cache": "sometimes" } });
  assert.equal(bad.status, 400);
});

Deno.test("not served from cache: temperature above the agent's limit, tool calls in flight, disabled agents", async () => {
  await using gw = await gateway({ agents: { creative: { maxTemperature: 0.5 }, nocache: { enabled: false } } });
  const hot = { extra: { temperature: 0.9 }, headers: { "x-amas-agent": "creative" } };
  await ask(gw, "Write a haiku about autumn", hot);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await ask(gw, "Write a haiku about autumn", hot)).cache, "miss");
  assert.equal(gw.gateway.cache!.size, 0);

  const off = { headers: { "x-amas-agent": "nocache" } };
  await ask(gw, "Name a color", off);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await ask(gw, "Name a color", off)).cache, "miss");

  const toolTurn = {
    model: "sim-small",
    messages: [
      { role: "user", content: "weather in Paris?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "c1", type: "function", function: { name: "w", arguments: "{}" } }],
      },
      { role: "tool", tool_call_id: "c1", content: "sunny" },
    ],
  };
  for (let i = 0; i < 2; i++) {
    const res = await postJson(`${gw.url}/v1/chat/completions`, toolTurn, { authorization: `Bearer ${ACME}` });
    assert.equal(res.headers.get("x-amas-cache"), "miss");
    await res.body?.cancel();
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(gw.gateway.cache!.size, 0);
});

Deno.test("errors are never cached", async () => {
  await using gw = await gateway();
  const sim = (body: Record<string, unknown>) =>
    fetch(`${gw.url}/admin/sim`, { method: "PUT", headers: admin(), body: JSON.stringify(body) }).then((r) =>
      r.body?.cancel()
    );
  await sim({ error_rate: 1 });
  const failed = await ask(gw, "Will this fail?");
  assert.ok(failed.status >= 500, `status ${failed.status}`);
  await sim({ error_rate: 0 });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(gw.gateway.cache!.size, 0);
  const ok = await ask(gw, "Will this fail?");
  assert.equal(ok.status, 200);
  assert.equal(ok.cache, "miss");
});

Deno.test("cache routes: put, lookup, stats, invalidate by id and by namespace; tenants stay apart", async () => {
  await using gw = await gateway();
  const put = await fetch(`${gw.url}/v1/cache`, {
    method: "PUT",
    headers: admin(),
    body: JSON.stringify({
      query: "What is our refund policy?",
      response: "30 days.",
      agent_id: "support",
      cost_usd: 0.002,
    }),
  });
  assert.equal(put.status, 201);
  const { id } = await put.json();

  const lookup = (query: string, key = ACME, extra: Record<string, unknown> = {}) =>
    postJson(`${gw.url}/v1/cache/lookup`, { query, agent_id: "support", ...extra }, { authorization: `Bearer ${key}` })
      .then((r) => r.json());
  assert.deepEqual((await lookup("What is our refund policy?")).response, "30 days.");
  assert.equal((await lookup("What is our refund policy?")).hit, "exact");
  const semantic = await lookup("what is our refund policy");
  assert.equal(semantic.hit, "semantic");
  assert.ok(semantic.similarity > 0.7);
  assert.equal((await lookup("what is our refund policy", ACME, { use_semantic: false })).hit, null);
  assert.equal((await lookup("What is our refund policy?", GLOBEX)).hit, null);

  const stats = await fetch(`${gw.url}/v1/cache/stats`, { headers: { authorization: `Bearer ${ACME}` } }).then((r) =>
    r.json()
  );
  assert.equal(stats.entries, 1);
  assert.ok(stats.lookups.exact >= 2 && stats.lookups.semantic >= 1);
  assert.ok(Math.abs(stats.money_saved_usd - 0.006) < 1e-9, String(stats.money_saved_usd));
  assert.ok(stats.hit_latency_ms.exact.count >= 2);

  // Admin routes need the admin token; another tenant cannot delete this tenant's entry.
  const noAdmin = await fetch(`${gw.url}/v1/cache/${id}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${ACME}` },
  });
  assert.equal(noAdmin.status, 403);
  await noAdmin.body?.cancel();
  const wrongTenant = await fetch(`${gw.url}/v1/cache/${id}`, {
    method: "DELETE",
    headers: admin({ authorization: `Bearer ${GLOBEX}` }),
  });
  assert.equal(wrongTenant.status, 404);
  await wrongTenant.body?.cancel();
  const del = await fetch(`${gw.url}/v1/cache/${id}`, { method: "DELETE", headers: admin() });
  assert.equal(del.status, 200);
  await del.body?.cancel();
  assert.equal((await lookup("What is our refund policy?")).hit, null);

  for (const q of ["one?", "two?", "three?"]) {
    await fetch(`${gw.url}/v1/cache`, {
      method: "PUT",
      headers: admin(),
      body: JSON.stringify({ query: q, response: q, agent_id: "support" }),
    }).then((r) => r.body?.cancel());
  }
  await fetch(`${gw.url}/v1/cache`, {
    method: "PUT",
    headers: admin(),
    body: JSON.stringify({ query: "kept?", response: "kept", agent_id: "sales" }),
  }).then((r) => r.body?.cancel());
  const ns = await fetch(`${gw.url}/v1/cache?agent_id=support`, { method: "DELETE", headers: admin() });
  assert.equal((await ns.json()).deleted, 3);
  assert.equal((await lookup("kept?", ACME, { agent_id: "sales" })).hit, "exact");

  const bad = await postJson(`${gw.url}/v1/cache/lookup`, { agent_id: "x" }, { authorization: `Bearer ${ACME}` });
  assert.equal(bad.status, 400);
  await bad.body?.cancel();
});

Deno.test("property: whatever the prompts, tenant acme never receives an entry stored by tenant globex", async () => {
  // A low threshold and no verifier: only the scope (which holds the tenant) can keep the tenants apart.
  await using gw = await gateway({ similarityThreshold: 0.3, verify: false });
  const prompt = fc.oneof(
    fc.constantFrom("What is the capital of France?", "hello", "Summarize this", "2+2?", "Tell me a joke"),
    fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim().length > 0),
  );
  let n = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(prompt, { minLength: 1, maxLength: 3 }), fc.boolean(), async (prompts, stream) => {
      for (const p of prompts) {
        const put = await fetch(`${gw.url}/v1/cache`, {
          method: "PUT",
          headers: admin({ authorization: `Bearer ${GLOBEX}` }),
          body: JSON.stringify({ query: p, response: `GLOBEX-SECRET-${n++}`, model: "sim-small" }),
        });
        assert.equal(put.status, 201);
        await put.body?.cancel();
      }
      for (const p of prompts) {
        // Globex itself is served its entry: the entries are servable, so a leak would show.
        const own = await ask(gw, p, { key: GLOBEX });
        assert.ok(own.content?.startsWith("GLOBEX-SECRET"), `globex should get its own entry for ${JSON.stringify(p)}`);
        for (const variant of [p, `${p} `, p.toUpperCase(), `${p}?`]) {
          const res = await postJson(
            `${gw.url}/v1/chat/completions`,
            chatBody(variant, { stream }),
            { authorization: `Bearer ${ACME}` },
          );
          const text = await res.text();
          assert.equal(res.status, 200);
          assert.ok(!text.includes("GLOBEX-SECRET"), `acme got globex's answer for ${JSON.stringify(variant)}`);
          const hit = await postJson(`${gw.url}/v1/cache/lookup`, { query: variant, model: "sim-small" }, {
            authorization: `Bearer ${ACME}`,
          }).then((r) => r.json());
          assert.ok(!JSON.stringify(hit).includes("GLOBEX-SECRET"));
        }
      }
    }),
    { numRuns: 12 },
  );
});
