/**
 * A whole request through the gateway in process (`gateway.app.request`, no sockets) beside a bare Hono app
 * doing the least a chat endpoint can do (parse the JSON body, answer a fixed completion). The ratio is the cost
 * of the gateway's middleware and pipeline: request id and timing, metrics, auth, body limit, zod validation,
 * admission, rate limit, cache lookup, routing, resilience, cost, Server-Timing.
 *
 * The simulated provider is set to zero latency, so upstream time is only the timer turn it awaits.
 *
 *     deno bench -A bench/gateway_bench.ts
 *
 * @module
 */
import { Hono } from "hono";
import { loadConfig } from "../src/config.ts";
import { createGateway } from "../src/wiring.ts";

const gateway = await createGateway(loadConfig({ env: { AMAS_LOG_LEVEL: "error", AMAS_PORT: "0" } }));
gateway.registry.sim.patch({ latency_ms: 0, jitter_ms: 0, tokens_per_second: 1_000_000 });

const COMPLETION = JSON.stringify({
  id: "chatcmpl-bare",
  object: "chat.completion",
  created: 0,
  model: "sim-small",
  choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
});
const bare = new Hono();
bare.post("/v1/chat/completions", async (c) => {
  const body = await c.req.json();
  if (!Array.isArray(body.messages)) return c.json({ error: "messages" }, 400);
  return c.body(COMPLETION, 200, { "content-type": "application/json" });
});
bare.get("/healthz", (c) => c.json({ status: "ok" }));

function chat(content: string, headers: Record<string, string> = {}): Request {
  return new Request("http://127.0.0.1/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json", "x-amas-agent": "bench_agent", ...headers },
    body: JSON.stringify({ model: "sim-small", messages: [{ role: "user", content }] }),
  });
}

async function expectOk(res: Response | Promise<Response>): Promise<void> {
  const r = await res;
  if (r.status !== 200) throw new Error(`status ${r.status}: ${await r.text()}`);
  await r.arrayBuffer();
}

// The exact-hit case needs the answer in the cache first.
await expectOk(gateway.app.request(chat("what is the capital of France?")));
let n = 0;

Deno.bench({
  name: "bare Hono: parse JSON, answer a fixed completion",
  group: "chat request in process",
  baseline: true,
  async fn() {
    await expectOk(bare.request(chat(`unique prompt ${n++}`)));
  },
});

Deno.bench({
  name: "gateway: cache bypassed, simulated upstream at zero latency",
  group: "chat request in process",
  async fn() {
    await expectOk(gateway.app.request(chat(`unique prompt ${n++}`, { "x-amas-cache": "bypass" })));
  },
});

Deno.bench({
  name: "gateway: exact cache hit",
  group: "chat request in process",
  async fn() {
    await expectOk(gateway.app.request(chat("what is the capital of France?")));
  },
});

Deno.bench({
  name: "bare Hono: GET /healthz",
  group: "healthz in process",
  baseline: true,
  async fn() {
    await expectOk(bare.request("http://127.0.0.1/healthz"));
  },
});

Deno.bench({
  name: "gateway: GET /healthz (request id, timing, metrics middleware)",
  group: "healthz in process",
  async fn() {
    await expectOk(gateway.app.request("http://127.0.0.1/healthz"));
  },
});

globalThis.addEventListener("unload", () => {
  void gateway.close();
});
