/**
 * The cache tells an observer what each lookup served and how close the best candidate was: the cost
 * recommendations count near-misses just under the threshold from it.
 */
import assert from "node:assert/strict";
import { type LookupObservation, SemanticCache } from "../../src/cache/semantic_cache.ts";
import { cacheConfigSchema } from "../../src/cache/config.ts";
import { MemoryStore } from "../../src/store/memory_store.ts";
import { HashEmbedder } from "../../src/embed/hash_embedder.ts";
import { Timing } from "../../src/gateway/timing.ts";
import type { ChatCall } from "../../src/gateway/stages.ts";

function call(content: string): ChatCall {
  return {
    request: { model: "sim-small", messages: [{ role: "user", content }] },
    tenant: "acme",
    agentId: "helper",
    cacheMode: "default",
    requestId: crypto.randomUUID(),
    signal: new AbortController().signal,
    timing: new Timing(),
  };
}

Deno.test("lookups are reported to the observer with the best candidate's similarity", async () => {
  const seen: LookupObservation[] = [];
  const store = await MemoryStore.open({ sweepIntervalMs: 0 });
  const cache = await SemanticCache.open({
    // A threshold no neighbour reaches: every semantic search is a miss with a similarity to report.
    config: cacheConfigSchema.parse({ embedder: "hash", similarityThreshold: 0.9999, verify: false }),
    store,
    embedder: new HashEmbedder(),
    awaitWarm: true,
    observer: { lookup: (o) => seen.push(o) },
  });
  try {
    const first = call("how do I rotate the signing keys of the payment service");
    assert.equal(await cache.lookup(first), null);
    cache.store(first, {
      id: "c1",
      object: "chat.completion",
      created: 1,
      model: "sim-small",
      choices: [{ index: 0, message: { role: "assistant", content: "rotate them" }, finish_reason: "stop" }],
    });
    const deadline = Date.now() + 5000;
    while (cache.stats().entries < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal((await cache.lookup(call("how do I rotate the signing keys of the payment service")))?.kind, "exact");
    assert.equal(await cache.lookup(call("how do I rotate the signing keys of the billing service")), null);

    assert.deepEqual(seen.map((o) => o.outcome), ["miss", "exact", "miss"]);
    assert.equal(seen[0].similarity, undefined, "an empty scope is not searched");
    const near = seen[2].similarity;
    assert.ok(near !== undefined && near > 0.5 && near < 0.9999, `similarity of the near candidate: ${near}`);
    assert.ok(seen.every((o) => o.tenant === "acme" && o.agent === "helper" && o.threshold === 0.9999));
  } finally {
    await cache.close();
    await store.close();
  }
});
