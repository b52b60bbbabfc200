import assert from "node:assert/strict";
import { HttpPool, ResponseHeaders } from "../../src/loadtest/http_client.ts";

Deno.test("response headers are found case-insensitively, first line and last line included", () => {
  const h = new ResponseHeaders(
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Amas-Cache:  exact \r\nserver-timing: a;dur=1\r\n",
  );
  assert.equal(h.get("content-length"), "5");
  assert.equal(h.get("x-amas-cache"), "exact");
  assert.equal(h.get("Server-Timing"), "a;dur=1");
  assert.equal(h.get("cache"), undefined);
  assert.equal(h.has("x-amas"), false);
});

Deno.test("keep-alive connections are reused across sized, chunked and streamed bodies and survive a timeout", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/sized") return new Response("hello");
    if (path === "/slow") await new Promise((r) => setTimeout(r, 500));
    // A streamed body goes out chunked, in pieces, the second one carrying content.
    const parts = [
      'data: {"choices":[{"delta":{"content":""}}]}\n\n',
      'data: {"choices":[{"delta":{"content":"hi"}}]}\n\n',
    ];
    return new Response(
      new ReadableStream({
        async pull(c) {
          const next = parts.shift();
          if (next === undefined) return c.close();
          await new Promise((r) => setTimeout(r, 30));
          c.enqueue(new TextEncoder().encode(next));
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    );
  });
  const pool = new HttpPool(`http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`);
  try {
    for (let i = 0; i < 3; i++) {
      const sized = await pool.send({ method: "GET", path: "/sized", keepBody: true });
      assert.equal(sized.status, 200);
      assert.equal(sized.body, "hello");
      const t0 = performance.now();
      const streamed = await pool.send({ method: "GET", path: "/sse", stream: true, keepBody: true });
      assert.equal(streamed.headers.get("transfer-encoding"), "chunked");
      assert.match(streamed.body!, /"content":"hi"/);
      // The first token is the second chunk, ~60 ms in, not the head.
      assert.ok(streamed.firstTokenAt! - t0 >= 45, `ttft ${streamed.firstTokenAt! - t0}`);
    }
    assert.equal(pool.size, 1, "one connection, reused");
    await assert.rejects(
      pool.send({ method: "GET", path: "/slow", timeoutMs: 100 }),
      /no complete answer within 100 ms/,
    );
    const after = await pool.send({ method: "GET", path: "/sized", keepBody: true });
    assert.equal(after.body, "hello");
  } finally {
    pool.close();
    await server.shutdown();
  }
});

Deno.test("a kept-alive connection the server closed while idle is replaced, not counted as a failed request", async () => {
  // A raw server that answers one request per connection with keep-alive, then closes the socket 30 ms later.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let accepted = 0;
  const serving = (async () => {
    for await (const conn of listener) {
      accepted++;
      (async () => {
        const buf = new Uint8Array(4096);
        await conn.read(buf);
        await conn.write(
          new TextEncoder().encode("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok"),
        );
        await new Promise((r) => setTimeout(r, 30));
        conn.close();
      })().catch(() => {});
    }
  })().catch(() => {});
  const pool = new HttpPool(`http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`);
  try {
    assert.equal((await pool.send({ method: "GET", path: "/", keepBody: true })).body, "ok");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await pool.send({ method: "GET", path: "/", keepBody: true })).body, "ok");
    assert.equal(accepted, 2, "the stale connection was replaced by a new one");
  } finally {
    pool.close();
    listener.close();
    await serving;
  }
});
