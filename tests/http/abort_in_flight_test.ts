/**
 * Shutdown past its grace period aborts what is still in flight: requests waiting on a slow upstream answer at once
 * instead of when the upstream would have.
 */
import assert from "node:assert/strict";
import { chatBody, startGateway } from "../support/gateway.ts";

Deno.test("abortInFlight ends in-flight chat requests at once", async () => {
  await using gw = await startGateway({
    overrides: { providers: { sim: { models: { "sim-small": { ttftMs: 3000, jitterMs: 0 } } } } },
  });
  const post = (prompt: string) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-amas-cache": "bypass" },
      body: JSON.stringify(chatBody(prompt)),
    });
  const t0 = performance.now();
  const pending = [post("slow one"), post("slow two")];
  await new Promise((r) => setTimeout(r, 300));
  gw.gateway.abortInFlight("test: giving up");
  const answers = await Promise.all(pending);
  const elapsed = performance.now() - t0;
  for (const res of answers) {
    const body = await res.json();
    assert.equal(res.status, 503, `status ${res.status}: ${JSON.stringify(body)}`);
    assert.equal(body.error.code, "shutting_down");
    assert.equal(res.headers.get("retry-after"), "1");
    assert.ok(body.error, JSON.stringify(body));
  }
  assert.ok(elapsed < 2500, `answered after ${elapsed.toFixed(0)} ms, not when the upstream would have`);
});
