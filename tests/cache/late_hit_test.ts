/**
 * A semantic lookup that runs out of its time budget (`semanticTimeoutMs`) does not give up: the call goes
 * upstream, and if the embedding then finds a verified neighbour before the upstream answer, the cached answer is
 * served and the call's upstream part cancelled. Real USE-lite embedder (with a 1 ms budget every lookup is late),
 * the simulated provider slow enough for the late hit to win.
 */
import assert from "node:assert/strict";
import { chatBody, postJson, startGateway } from "../support/gateway.ts";
import type { UseLiteEmbedder } from "../../src/embed/use_lite.ts";

/** A gateway whose semantic lookups get a 1 ms embedding budget (so nearly every one runs late), with USE-lite ready. */
async function lateHitGateway() {
  const gw = await startGateway({
    env: { AMAS_LOG_LEVEL: "error" },
    overrides: { cache: { embedder: "use-lite", semanticTimeoutMs: 1 } },
  });
  await gw.gateway.cache!.whenReady();
  await (gw.gateway.cache!.embedder as UseLiteEmbedder).ready;
  return gw;
}

Deno.test("a lookup past its time budget still serves a late semantic hit before the upstream answer", async () => {
  await using gw = await lateHitGateway();
  const cache = gw.gateway.cache!;
  const sim = gw.gateway.registry.sim;
  sim.patch({ model: "sim-small", latency_ms: 1, jitter_ms: 0 });
  const ask = async (content: string) => {
    const t0 = performance.now();
    const res = await postJson(`${gw.url}/v1/chat/completions`, chatBody(content));
    const body = await res.json();
    return { status: res.status, cache: res.headers.get("x-amas-cache"), body, ms: performance.now() - t0 };
  };

  const first = await ask("How do I reset my router password?");
  assert.equal(first.cache, "miss");
  const deadline = Date.now() + 30_000;
  while (cache.stats().index.size < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));

  // An upstream that takes 3 s: the embedding (milliseconds, but over the 1 ms budget) finishes well before.
  sim.patch({ model: "sim-small", latency_ms: 3_000, jitter_ms: 0 });
  const callsBefore = sim.stats().calls;
  const reworded = await ask("How can I reset my router password?");
  assert.equal(reworded.status, 200);
  assert.equal(reworded.cache, "semantic");
  assert.equal(reworded.body.choices[0].message.content, first.body.choices[0].message.content);
  assert.ok(reworded.ms < 2_500, `served before the upstream answer: ${reworded.ms.toFixed(0)} ms`);
  const stats = cache.stats();
  assert.ok(stats.embed_timeouts >= 1, "the lookup did run out of its budget");
  assert.deepEqual({ semantic: stats.lookups.semantic, miss: stats.lookups.miss }, { semantic: 1, miss: 1 });
  assert.ok(sim.stats().calls - callsBefore <= 1);

  // A late lookup that finds nothing leaves the upstream answer alone; a minimal pair is never served late either.
  const other = await ask("How can I reset my router username?");
  assert.equal(other.status, 200);
  assert.equal(other.cache, "miss");
  assert.match(other.body.choices[0].message.content, /router username/);
  assert.equal(cache.stats().lookups.semantic, 1);
});

Deno.test("an upstream answer that comes first is served, and the late lookup is not counted as a hit", async () => {
  await using gw = await lateHitGateway();
  const cache = gw.gateway.cache!;
  gw.gateway.registry.sim.patch({ model: "sim-small", latency_ms: 1, jitter_ms: 0, tokens_per_second: 100_000 });
  await postJson(`${gw.url}/v1/chat/completions`, chatBody("How do I reset my router password?")).then((r) =>
    r.arrayBuffer()
  );
  const deadline = Date.now() + 30_000;
  while (cache.stats().index.size < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  // Either may win the race here; whichever did, what was served and what was counted agree.
  const served: Record<string, number> = { exact: 0, semantic: 0, miss: 1 };
  for (
    const prompt of [
      "How can I reset my router password?",
      "How could I reset my router password?",
      "How should I reset my router password?",
      "Please tell me how to reset my router password.",
    ]
  ) {
    const res = await postJson(`${gw.url}/v1/chat/completions`, chatBody(prompt));
    await res.arrayBuffer();
    served[res.headers.get("x-amas-cache")!]++;
    // A late lookup that lost the race may still be finishing: give it time to (not) count itself.
    await new Promise((r) => setTimeout(r, 200));
  }
  const { exact, semantic, miss } = cache.stats().lookups;
  assert.deepEqual({ exact, semantic, miss }, served);
});
