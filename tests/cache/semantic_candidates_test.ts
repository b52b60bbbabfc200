/**
 * Templated prompts that differ only by a number ("… feature 17 …") sit closer to a reworded query than its true
 * original can: the nearest neighbours above the threshold are all rejected by the verifier (the numbers differ).
 * The cache then looks further than `candidates` and still finds the original. Real USE-lite embedder.
 */
import assert from "node:assert/strict";
import { SemanticCache } from "../../src/cache/semantic_cache.ts";
import { cacheConfigSchema } from "../../src/cache/config.ts";
import { MemoryStore } from "../../src/store/memory_store.ts";
import { UseLiteEmbedder } from "../../src/embed/use_lite.ts";
import { Timing } from "../../src/gateway/timing.ts";
import type { ChatCall } from "../../src/gateway/stages.ts";

function call(content: string): ChatCall {
  return {
    request: { model: "sim-small", messages: [{ role: "user", content }] },
    tenant: "acme",
    agentId: "default",
    cacheMode: "default",
    requestId: crypto.randomUUID(),
    signal: new AbortController().signal,
    timing: new Timing(),
  };
}

Deno.test("a reworded templated prompt finds its original beyond the first candidates", async () => {
  const store = await MemoryStore.open({ sweepIntervalMs: 0 });
  const embedder = new UseLiteEmbedder({ workers: 1 });
  const cache = await SemanticCache.open({
    // No time budget: this test is about which candidates are checked, not about a slow machine.
    config: cacheConfigSchema.parse({ semanticTimeoutMs: 60_000, candidates: 4 }),
    store,
    embedder,
    awaitWarm: true,
  });
  try {
    const answer = (content: string) => ({
      id: "c",
      object: "chat.completion" as const,
      created: 1,
      model: "sim-small",
      choices: [{ index: 0, message: { role: "assistant" as const, content }, finish_reason: "stop" as const }],
    });
    // The originals, worded one way; and many other features worded the way the queries will be, so that the
    // queries' nearest neighbours are other features (rejected: the numbers differ), not their originals.
    const originals = [3, 7, 11];
    for (const i of originals) {
      cache.store(call(`Please tell me how to configure feature ${i} in the app.`), answer(`answer ${i}`));
    }
    const n = 40;
    for (let i = 100; i < 100 + n; i++) {
      cache.store(call(`How can I configure feature ${i} in the app?`), answer(`answer ${i}`));
    }
    const total = n + originals.length;
    const deadline = Date.now() + 60_000;
    while (cache.stats().index.size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(cache.stats().index.size, total);

    for (const i of originals) {
      const hit = await cache.lookup(call(`How can I configure feature ${i} in the app?`));
      assert.equal(hit?.kind, "semantic", `feature ${i}: ${JSON.stringify(cache.stats().verifier_rejections)}`);
      assert.equal(hit.completion.choices[0].message.content, `answer ${i}`);
    }
    // At least one query met four rejected neighbours first (what this test is about).
    assert.ok((cache.stats().verifier_rejections.number ?? 0) >= 4, "the first candidates were never all rejected");
    // Rewording to a feature nobody asked about is still refused, however far the search goes.
    assert.equal(await cache.lookup(call("How can I configure feature 5 in the app?")), null);
  } finally {
    await cache.close();
    await store.close();
  }
});
