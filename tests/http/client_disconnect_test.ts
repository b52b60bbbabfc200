/**
 * A client that gives up mid-request is not a gateway failure: no 500 is counted or logged as unhandled, and the
 * upstream call is cancelled.
 */
import assert from "node:assert/strict";
import { chatBody, startGateway } from "../support/gateway.ts";

Deno.test("a client disconnecting mid-request is counted as 499, not as a gateway error", async () => {
  await using gw = await startGateway({
    overrides: { providers: { sim: { models: { "sim-small": { ttftMs: 2000, jitterMs: 0 } } } } },
  });
  const controller = new AbortController();
  const pending = fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-amas-cache": "bypass" },
    body: JSON.stringify(chatBody("I will not wait")),
    signal: controller.signal,
  });
  await new Promise((r) => setTimeout(r, 300));
  controller.abort();
  await assert.rejects(pending);
  const deadline = Date.now() + 10_000;
  let metrics = "";
  while (Date.now() < deadline) {
    metrics = await (await fetch(`${gw.url}/metrics`)).text();
    if (/route="\/v1\/chat\/completions"[^}]*status="499"/.test(metrics)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(metrics, /amas_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="499"/);
  assert.doesNotMatch(metrics, /route="\/v1\/chat\/completions"[^}]*status="500"/);
});
