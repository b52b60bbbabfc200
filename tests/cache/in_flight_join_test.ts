/**
 * Semantic single-flight over HTTP: a reworded repeat of a prompt whose call is still in flight upstream waits for
 * that call and is served its answer (`x-amas-cache: semantic`, `x-amas-cache-in-flight: true`) with one upstream
 * call between them; everything that would not be served from the cache (a minimal pair, another tenant, agent or
 * model, the request controls) does not join; a leader without an answer sends its followers upstream. In-process
 * gateway, the simulated provider with a slow model (`sim-slow`, from the configuration), the `hash` embedder.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { chatBody, startGateway, type TestGateway } from "../support/gateway.ts";

const ACME = "sk-acme-test-1234";
const GLOBEX = "sk-globex-test-5678";
const ADMIN = "admin-token-1234";
/** Long enough for a follower to arrive while the leader is in flight, even on a busy machine. */
const SLOW_MS = 1_500;

async function gateway(cache: Record<string, unknown> = {}): Promise<TestGateway> {
  const slow = { ttftMs: SLOW_MS, jitterMs: 0, tokensPerSecond: 1e6 };
  const gw = await startGateway({
    env: { AMAS_API_KEYS: `acme=${ACME},globex=${GLOBEX}`, AMAS_ADMIN_TOKEN: ADMIN, AMAS_LOG_LEVEL: "error" },
    overrides: {
      cache: { embedder: "hash", similarityThreshold: 0.7, ...cache },
      providers: { sim: { models: { "sim-slow": slow, "sim-slow-2": slow } } },
      // A failed leader must stay failed: a retry would answer for it.
      resilience: { upstream: { retry: { maxRetries: 0 } } },
    },
  });
  await gw.gateway.cache!.whenReady();
  return gw;
}

interface Answer {
  status: number;
  cache: string | null;
  inFlight: string | null;
  similarity: string | null;
  timing: string;
  content?: string;
  ms: number;
}

interface AskOptions {
  key?: string;
  headers?: Record<string, string>;
  extra?: Record<string, unknown>;
  signal?: AbortSignal;
}

async function ask(gw: TestGateway, content: string, options: AskOptions = {}): Promise<Answer> {
  const t0 = performance.now();
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${options.key ?? ACME}`,
      ...options.headers,
    },
    body: JSON.stringify(chatBody(content, { model: "sim-slow", ...options.extra })),
    signal: options.signal,
  });
  const text = await res.text();
  let answer = "";
  if (res.headers.get("content-type")?.startsWith("text/event-stream")) {
    for (const line of text.split("\n")) {
      if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
      answer += JSON.parse(line.slice(6)).choices?.[0]?.delta?.content ?? "";
    }
  } else {
    answer = JSON.parse(text)?.choices?.[0]?.message?.content;
  }
  return {
    status: res.status,
    cache: res.headers.get("x-amas-cache"),
    inFlight: res.headers.get("x-amas-cache-in-flight"),
    similarity: res.headers.get("x-amas-cache-similarity"),
    timing: res.headers.get("server-timing") ?? "",
    content: answer,
    ms: performance.now() - t0,
  };
}

/** Waits until `n` calls are registered as in flight (and their embeddings, synchronous with `hash`, are in). */
async function inFlight(gw: TestGateway, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (gw.gateway.cache!.stats().in_flight.flights < n && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(gw.gateway.cache!.stats().in_flight.flights >= n, `${n} calls in flight`);
  await new Promise((r) => setTimeout(r, 20));
}

function slowCalls(gw: TestGateway): number {
  const byModel = gw.gateway.registry.sim.stats().byModel;
  return (byModel["sim-slow"] ?? 0) + (byModel["sim-slow-2"] ?? 0);
}

function sim(gw: TestGateway, body: Record<string, unknown>): Promise<void> {
  return fetch(`${gw.url}/admin/sim`, {
    method: "PUT",
    headers: { "x-amas-admin-token": ADMIN, "content-type": "application/json" },
    body: JSON.stringify({ model: "sim-slow", ...body }),
  }).then((r) => void r.body?.cancel());
}

Deno.test("a reworded repeat of a call in flight waits for it: one upstream call, its answer, marked in-flight", async () => {
  await using gw = await gateway();
  const leader = ask(gw, "What is the capital of France?");
  await inFlight(gw, 1);
  const follower = await ask(gw, "what's the capital of France");
  const first = await leader;
  assert.equal(first.status, 200);
  assert.equal(first.cache, "miss");
  assert.equal(first.inFlight, null);
  assert.equal(follower.status, 200);
  assert.equal(follower.cache, "semantic");
  assert.equal(follower.inFlight, "true");
  assert.ok(Number(follower.similarity) >= 0.7, String(follower.similarity));
  assert.equal(follower.content, first.content);
  assert.match(follower.timing, /inflight;dur=/);
  assert.equal(slowCalls(gw), 1);
  const stats = gw.gateway.cache!.stats();
  assert.equal(stats.in_flight.joins.served, 1);
  assert.equal(stats.in_flight.flights, 0);
  assert.deepEqual({ semantic: stats.lookups.semantic, miss: stats.lookups.miss }, { semantic: 1, miss: 1 });
});

Deno.test("a minimal pair does not join the call in flight", async () => {
  await using gw = await gateway();
  const leader = ask(gw, "What is the capital of France?");
  await inFlight(gw, 1);
  const other = await ask(gw, "What is the capital of Germany?");
  const first = await leader;
  assert.equal(other.cache, "miss");
  assert.equal(other.inFlight, null);
  assert.match(other.content ?? "", /Germany/);
  assert.notEqual(other.content, first.content);
  assert.equal(slowCalls(gw), 2);
  const stats = gw.gateway.cache!.stats();
  assert.equal(stats.in_flight.joins.served, 0);
  assert.ok((stats.verifier_rejections.entity ?? 0) + (stats.verifier_rejections.content ?? 0) >= 1);
});

Deno.test("another tenant, agent or model never joins", async () => {
  await using gw = await gateway();
  const leader = ask(gw, "What is the capital of France?");
  await inFlight(gw, 1);
  const others = await Promise.all([
    ask(gw, "what's the capital of France", { key: GLOBEX }),
    ask(gw, "what's the capital of France", { headers: { "x-amas-agent": "other" } }),
    ask(gw, "what's the capital of France", { extra: { model: "sim-slow-2" } }),
    ask(gw, "what's the capital of France", { extra: { temperature: 0 } }),
  ]);
  await leader;
  for (const other of others) {
    assert.equal(other.status, 200);
    assert.equal(other.cache, "miss");
    assert.equal(other.inFlight, null);
  }
  assert.equal(slowCalls(gw), 5);
  assert.equal(gw.gateway.cache!.stats().in_flight.joins.served, 0);
});

Deno.test("bypass, refresh and exact-only do not join; a disabled agent or a hot request neither joins nor leads", async () => {
  await using gw = await gateway({ agents: { nocache: { enabled: false }, creative: { maxTemperature: 0.5 } } });
  const leader = ask(gw, "What is the capital of France?");
  await inFlight(gw, 1);
  // Three wordings: identical requests would share one call through exact single-flight, whatever their mode.
  const controls = await Promise.all(
    [["bypass", "what's the capital of France"], ["refresh", "what is the capital of France"], [
      "exact-only",
      "What's the capital of France?",
    ]].map(([mode, prompt]) => ask(gw, prompt, { headers: { "x-amas-cache": mode } })),
  );
  await leader;
  assert.deepEqual(controls.map((a) => [a.cache, a.inFlight]), [["bypass", null], ["miss", null], ["miss", null]]);
  assert.equal(slowCalls(gw), 4);

  const off = ask(gw, "Name a colour", { headers: { "x-amas-agent": "nocache" } });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(gw.gateway.cache!.stats().in_flight.flights, 0);
  const offFollower = await ask(gw, "Name one colour", { headers: { "x-amas-agent": "nocache" } });
  await off;
  assert.equal(offFollower.inFlight, null);

  // Above the agent's maximum temperature an answer is neither served from nor stored in the cache: nor shared.
  const hot = { headers: { "x-amas-agent": "creative" }, extra: { temperature: 0.9 } };
  const hotLeader = ask(gw, "Write a haiku about autumn", hot);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(gw.gateway.cache!.stats().in_flight.flights, 0);
  const hotFollower = await ask(gw, "Please write a haiku about autumn", hot);
  await hotLeader;
  assert.equal(hotFollower.inFlight, null);
  assert.equal(gw.gateway.cache!.stats().in_flight.joins.served, 0);
});

Deno.test("a leader that fails or is cancelled sends its follower upstream itself", async () => {
  await using gw = await gateway();
  // The simulated provider draws the failure when the call starts: the leader fails, later calls do not.
  await sim(gw, { error_rate: 1 });
  const failing = ask(gw, "What is the capital of France?");
  await inFlight(gw, 1);
  await sim(gw, { error_rate: 0 });
  const follower = await ask(gw, "what's the capital of France");
  assert.ok((await failing).status >= 500);
  assert.equal(follower.status, 200);
  assert.equal(follower.cache, "miss");
  assert.equal(follower.inFlight, null);
  assert.match(follower.content ?? "", /what's the capital of France/);
  assert.equal(gw.gateway.cache!.stats().in_flight.joins.leader_failed, 1);

  // The leader's client goes away: its call is cancelled, the follower goes upstream.
  const gone = new AbortController();
  const cancelled = ask(gw, "How do I reset my router password?", { signal: gone.signal }).catch((e) => e);
  await inFlight(gw, 1);
  const second = ask(gw, "How can I reset my router password?");
  await new Promise((r) => setTimeout(r, 100));
  gone.abort();
  await cancelled;
  const rerouted = await second;
  assert.equal(rerouted.status, 200);
  assert.equal(rerouted.cache, "miss");
  assert.match(rerouted.content ?? "", /How can I reset my router password/);
  assert.equal(gw.gateway.cache!.stats().in_flight.joins.leader_failed, 2);
  // The follower went upstream as a leader of its own, and its answer was stored like any other.
  assert.equal(gw.gateway.cache!.stats().in_flight.flights, 0);
});

Deno.test("a follower's wait is bounded, and a follower whose client leaves does not disturb the leader", async () => {
  await using gw = await gateway({ joinWaitMs: 300 });
  // The leader hangs (decided when its call starts); the follower's own call does not.
  await sim(gw, { hang: true });
  const gone = new AbortController();
  const hanging = ask(gw, "What is the capital of France?", { signal: gone.signal }).catch((e) => e);
  await inFlight(gw, 1);
  await sim(gw, { hang: false });
  const follower = await ask(gw, "what's the capital of France");
  assert.equal(follower.status, 200);
  assert.equal(follower.cache, "miss");
  assert.ok(follower.ms < SLOW_MS + 300 + 5_000, `bounded: ${follower.ms.toFixed(0)} ms`);
  assert.equal(gw.gateway.cache!.stats().in_flight.joins.timeout, 1);
  gone.abort();
  await hanging;

  const leader = ask(gw, "How do I reset my router password?");
  await inFlight(gw, 1);
  const leaving = new AbortController();
  const follower2 = ask(gw, "How can I reset my router password?", { signal: leaving.signal }).catch((e) => e);
  await new Promise((r) => setTimeout(r, 100));
  leaving.abort();
  assert.ok((await follower2) instanceof Error);
  const first = await leader;
  assert.equal(first.status, 200);
  assert.equal(gw.gateway.cache!.stats().in_flight.joins.cancelled, 1);
});

Deno.test("a streaming follower gets the answer replayed as SSE; a JSON follower of a streaming leader gets it whole", async () => {
  await using gw = await gateway();
  const leader = ask(gw, "What is the capital of France?");
  await inFlight(gw, 1);
  const streamed = await ask(gw, "what's the capital of France", { extra: { stream: true } });
  const first = await leader;
  assert.equal(streamed.cache, "semantic");
  assert.equal(streamed.inFlight, "true");
  assert.equal(streamed.content, first.content);

  const streamingLeader = ask(gw, "How do I reset my router password?", { extra: { stream: true } });
  await inFlight(gw, 1);
  const whole = await ask(gw, "How can I reset my router password?");
  const streamedFirst = await streamingLeader;
  assert.equal(streamedFirst.cache, "miss");
  assert.equal(whole.cache, "semantic");
  assert.equal(whole.inFlight, "true");
  assert.equal(whole.content, streamedFirst.content);
  assert.equal(slowCalls(gw), 2);
});

Deno.test("an identical request in flight is left to exact single-flight, which shares the call as before", async () => {
  await using gw = await gateway();
  const leader = ask(gw, "What is the capital of France?");
  await inFlight(gw, 1);
  const twin = await ask(gw, "What is the capital of France?");
  const first = await leader;
  assert.equal(twin.cache, "miss");
  assert.equal(twin.content, first.content);
  assert.equal(slowCalls(gw), 1);
  assert.equal(gw.gateway.cache!.stats().in_flight.joins.served, 0);
});

Deno.test("property: a call in flight for tenant globex is never joined by tenant acme", async () => {
  // A low threshold and no verifier: only the scope (which holds the tenant) keeps the tenants apart.
  await using gw = await gateway({ similarityThreshold: 0.3, verify: false });
  const prompt = fc.oneof(
    fc.constantFrom("What is the capital of France?", "hello", "Summarize this", "2+2?"),
    fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim().length > 0),
  );
  let run = 0;
  await fc.assert(
    fc.asyncProperty(prompt, fc.constantFrom("", " ", "?", "!"), fc.boolean(), async (p, suffix, stream) => {
      // A scope of its own per run (the agent), so that nothing stored by an earlier run answers.
      const agent = { "x-amas-agent": `run-${run++}` };
      const globex = ask(gw, p, { key: GLOBEX, headers: agent });
      await inFlight(gw, 1);
      const acme = await ask(gw, `${p}${suffix}`, { headers: agent, extra: { stream } });
      await globex;
      assert.equal(acme.status, 200);
      assert.equal(acme.inFlight, null, `acme joined globex's call for ${JSON.stringify(p)}`);
      assert.equal(gw.gateway.cache!.stats().in_flight.joins.served, 0);
    }),
    { numRuns: 6 },
  );
  // The same prompt for the same tenant does join: the property above cannot pass for want of a join.
  const leader = ask(gw, "tenant check", { key: GLOBEX });
  await inFlight(gw, 1);
  const same = await ask(gw, "tenant check!", { key: GLOBEX });
  await leader;
  assert.equal(same.inFlight, "true");
});
