import assert from "node:assert/strict";
import { OpenAIEmbedder } from "../../src/embed/openai_embedder.ts";
import { HashEmbedder } from "../../src/embed/hash_embedder.ts";
import { dot } from "../../src/embed/types.ts";

/** A real HTTP server speaking the `/v1/embeddings` shape, answering in reverse order as some servers do. */
function embeddingsServer(dimension: number): { url: string; requests: unknown[]; close(): Promise<void> } {
  const requests: unknown[] = [];
  const hash = new HashEmbedder({ dimension });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.json();
    requests.push({ auth: req.headers.get("authorization"), body });
    if (body.model === "broken") return new Response("model not found", { status: 404 });
    const input: string[] = body.input;
    const data = input.map((t, index) => ({
      object: "embedding",
      index,
      embedding: hash.embedOne(t).map((x) => x * 3),
    }));
    return Response.json({ object: "list", data: data.reverse(), model: body.model });
  });
  const port = (server.addr as Deno.NetAddr).port;
  return { url: `http://127.0.0.1:${port}/v1`, requests, close: () => server.shutdown() };
}

Deno.test("OpenAI-compatible embedder: batches, restores order, normalises, sends the key", async () => {
  const srv = embeddingsServer(64);
  try {
    const embedder = new OpenAIEmbedder({ baseUrl: srv.url, apiKey: "sk-x", model: "m", dimension: 64, maxBatch: 2 });
    const texts = ["alpha", "beta", "gamma"];
    const vectors = await embedder.embed(texts);
    assert.equal(vectors.length, 3);
    const hash = new HashEmbedder({ dimension: 64 });
    texts.forEach((t, i) => assert.ok(dot(vectors[i], hash.embedOne(t)) > 0.9999, t));
    assert.equal(srv.requests.length, 2);
    assert.equal((srv.requests[0] as { auth: string }).auth, "Bearer sk-x");
  } finally {
    await srv.close();
  }
});

Deno.test("OpenAI-compatible embedder: errors and wrong dimensions say what to fix", async () => {
  const srv = embeddingsServer(64);
  try {
    const broken = new OpenAIEmbedder({ baseUrl: srv.url, model: "broken", dimension: 64 });
    await assert.rejects(() => broken.embed(["x"]), /answered 404/);
    const wrong = new OpenAIEmbedder({ baseUrl: srv.url, model: "m", dimension: 32 });
    await assert.rejects(() => wrong.embed(["x"]), /expected 32/);
  } finally {
    await srv.close();
  }
});
