/**
 * Kubernetes scale-down must not drop a request: SIGTERM during 50 in-flight slow requests (half of them streams)
 * lets all 50 complete, then the process exits 0.
 */
import assert from "node:assert/strict";
import { chatBody, postJson, spawnGateway } from "../support/gateway.ts";

Deno.test("SIGTERM drains 50 in-flight requests and exits 0", async () => {
  const configFile = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(
    configFile,
    JSON.stringify({
      providers: { sim: { models: { "sim-small": { ttftMs: 1500, jitterMs: 0, tokensPerSecond: 200 } } } },
    }),
  );
  const gw = await spawnGateway({ AMAS_CONFIG: configFile, AMAS_SHUTDOWN_GRACE_MS: "20000" });
  try {
    const url = `${gw.url}/v1/chat/completions`;
    const requests = Array.from({ length: 50 }, async (_, i) => {
      const stream = i % 2 === 1;
      const response = await postJson(url, chatBody(`slow request ${i}`, { stream }));
      const text = await response.text();
      return { status: response.status, stream, text };
    });
    // Wait until all 50 are being processed before the signal.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      const inFlight = Number(/^amas_admission_in_flight (\d+)/m.exec(metrics)?.[1] ?? 0);
      if (inFlight >= 50) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const status = await gw.stop("SIGTERM");
    const results = await Promise.all(requests);
    assert.equal(results.length, 50);
    for (const [i, r] of results.entries()) {
      assert.equal(r.status, 200, `request ${i}`);
      if (r.stream) assert.ok(r.text.trimEnd().endsWith("data: [DONE]"), `stream ${i} complete`);
      else assert.match(JSON.parse(r.text).choices[0].message.content, /re: slow request/);
    }
    assert.equal(status.code, 0, `exit code; log:\n${gw.stderr()}`);
    assert.match(gw.stderr(), /"msg":"draining"/);
    // After the drain the port is closed: no request is accepted any more.
    await assert.rejects(fetch(`${gw.url}/healthz`));
  } finally {
    await gw.stop("SIGKILL");
    await Deno.remove(configFile);
  }
});
