/**
 * The OpenAI-compatible provider against a real local HTTP upstream: a whole answer, its whole-request timeout
 * (a 504 `ProviderError`, from the provider's shared deadline timer) and a caller's abort.
 */
import assert from "node:assert/strict";
import { OpenAiCompatibleProvider } from "../../src/providers/openai_compatible.ts";
import { openAiUpstreamSchema } from "../../src/providers/config.ts";
import { ProviderError } from "../../src/providers/types.ts";

function upstream(delayMs: (prompt: string) => number) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json();
    const prompt = body.messages[0].content as string;
    await new Promise((r) => setTimeout(r, delayMs(prompt)));
    return Response.json({
      id: "x",
      object: "chat.completion",
      created: 0,
      model: body.model,
      choices: [{ index: 0, message: { role: "assistant", content: `echo ${prompt}` }, finish_reason: "stop" }],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    });
  });
  return server;
}

const request = (content: string) => ({ model: "m", messages: [{ role: "user" as const, content }] });

Deno.test("openai-compatible provider: answers, times out with a 504, and stops when the caller aborts", async () => {
  const server = upstream((prompt) => prompt === "slow" ? 1_000 : 0);
  const config = openAiUpstreamSchema.parse({
    baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
    timeoutMs: 150,
  });
  const provider = new OpenAiCompatibleProvider("up", config);
  try {
    const live = new AbortController().signal;
    const answer = await provider.complete(request("hi"), { signal: live, upstreamModel: "m-up" });
    assert.equal(answer.choices[0].message.content, "echo hi");
    assert.equal(answer.model, "m-up");

    const t0 = performance.now();
    const timedOut = await provider.complete(request("slow"), { signal: live, upstreamModel: "m" }).catch((e) => e);
    assert.ok(timedOut instanceof ProviderError, String(timedOut));
    assert.equal(timedOut.status, 504);
    assert.ok(performance.now() - t0 < 900, "the timeout fired before the upstream answered");

    const caller = new AbortController();
    setTimeout(() => caller.abort(new DOMException("client gone", "AbortError")), 30);
    const aborted = await provider.complete(request("slow"), { signal: caller.signal, upstreamModel: "m" })
      .catch((e) => e);
    assert.ok(aborted instanceof ProviderError, String(aborted));
    assert.notEqual(aborted.status, 504, "a caller's abort is not a timeout");

    // Calls after a timeout still work, and quick calls never trip the shared timer.
    for (let i = 0; i < 5; i++) {
      const ok = await provider.complete(request(`q${i}`), { signal: live, upstreamModel: "m" });
      assert.equal(ok.choices[0].message.content, `echo q${i}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    provider.close();
    await server.shutdown();
  }
});
