/**
 * End to end with the embedded store: a gateway with `AMAS_DATA_DIR` keeps its cache over a restart.
 */
import assert from "node:assert/strict";
import { SNAPSHOT_FILE } from "../../src/store/memory_store.ts";
import { chatBody, postJson, startGateway } from "../support/gateway.ts";
import { waitFor } from "./fixtures.ts";

Deno.test({
  name: "memory store e2e: a gateway restarted on the same data directory serves what it cached before",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "amas-data-" });
    // The deterministic embedder keeps this test cheap; the store does not care which embedder made a vector.
    const env = { AMAS_DATA_DIR: dir, AMAS_EMBEDDER: "hash", AMAS_LOG_LEVEL: "error" };
    try {
      const prompt = "What is the tallest mountain in Europe?";
      let firstId: string;
      {
        await using gw = await startGateway({ env });
        const res = await postJson(`${gw.url}/v1/chat/completions`, chatBody(prompt));
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("x-amas-cache"), "miss");
        firstId = (await res.json()).id;
        // The entry reaches the store behind the response.
        assert.ok(await waitFor(async () => (await gw.gateway.store.status()).entries === 1, 10_000));
      }
      assert.ok((await Deno.stat(`${dir}/${SNAPSHOT_FILE}`)).size > 0, "shutdown wrote the snapshot");

      await using again = await startGateway({ env });
      assert.ok(
        await waitFor(async () =>
          (await fetch(`${again.url}/readyz`).then((r) => r.body?.cancel().then(() => r.status))) === 200
        ),
      );
      const res = await postJson(`${again.url}/v1/chat/completions`, chatBody(prompt));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-amas-cache"), "exact");
      assert.equal((await res.json()).id, firstId, "the answer cached before the restart");
      const stats = await (await fetch(`${again.url}/v1/cache/stats`)).json();
      assert.equal(stats.index.size, 1, "the index was rebuilt from the snapshot");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
