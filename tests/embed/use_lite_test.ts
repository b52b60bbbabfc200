import assert from "node:assert/strict";
import { UseLiteEmbedder } from "../../src/embed/use_lite.ts";
import { dot } from "../../src/embed/types.ts";

Deno.test("USE-lite in a worker: normalised 512-d vectors, paraphrases closer than unrelated text", async () => {
  const embedder = new UseLiteEmbedder({ workers: 1 });
  try {
    await embedder.ready;
    const [a, b, c] = await embedder.embed([
      "How do I reset my password?",
      "How can I reset my password?",
      "What is the boiling point of water?",
    ]);
    assert.equal(a.length, 512);
    assert.ok(Math.abs(dot(a, a) - 1) < 1e-4);
    assert.ok(dot(a, b) > dot(a, c) + 0.2, `${dot(a, b)} vs ${dot(a, c)}`);
    // Deterministic: the same text twice gives the same vector.
    const [again] = await embedder.embed(["How do I reset my password?"]);
    assert.ok(dot(a, again) > 0.9999);
  } finally {
    await embedder.close();
  }
});

Deno.test("USE-lite: concurrent callers are micro-batched and the event loop keeps running", async () => {
  const embedder = new UseLiteEmbedder({ workers: 1, maxBatch: 16 });
  try {
    await embedder.ready;
    await embedder.embed(["warm up"]);
    // A 5 ms timer measures how late the main thread runs while 50 lookups are embedded.
    let maxLag = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const t = performance.now();
      maxLag = Math.max(maxLag, t - last - 5);
      last = t;
    }, 5);
    const texts = Array.from({ length: 50 }, (_, i) => `question number ${i} about the weather in city ${i}`);
    const started = performance.now();
    const vectors = await Promise.all(texts.map((t) => embedder.embed([t]).then((v) => v[0])));
    const elapsed = performance.now() - started;
    clearInterval(timer);
    assert.equal(vectors.length, 50);
    for (const v of vectors) assert.equal(v.length, 512);
    // Results are handed back one caller per task: each caller still gets its own text's vector.
    for (const i of [0, 17, 49]) {
      const [alone] = await embedder.embed([texts[i]]);
      assert.ok(alone.every((x, j) => Math.abs(x - vectors[i][j]) < 1e-4), `vector ${i} belongs to its text`);
    }
    // Generous bound: the machine is shared. The model alone would block for the whole batch (elapsed).
    assert.ok(
      maxLag < Math.max(100, elapsed / 2),
      `event loop lag ${maxLag.toFixed(1)} ms over ${elapsed.toFixed(0)} ms`,
    );
  } finally {
    await embedder.close();
  }
});

Deno.test("USE-lite: a closed embedder rejects instead of hanging", async () => {
  const embedder = new UseLiteEmbedder({ workers: 1 });
  await embedder.close();
  await assert.rejects(() => embedder.embed(["x"]), /closed/);
});
