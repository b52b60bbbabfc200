import assert from "node:assert/strict";
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from "../../src/gateway/chat_schema.ts";
import { type CallOptions, type Provider, ProviderError } from "../../src/providers/types.ts";
import { DeploymentStats } from "../../src/routing/latency.ts";
import { ObservedProvider } from "../../src/routing/observed_provider.ts";

/** A provider that fails the way it is told to, after `ms` of fake time. */
class ScriptedProvider implements Provider {
  readonly name = "d";
  next: { error?: unknown; ms: number } = { ms: 0 };
  constructor(private clock: { now: number }) {}
  complete(_r: ChatRequest, _o: CallOptions): Promise<ChatCompletion> {
    this.clock.now += this.next.ms;
    if (this.next.error) return Promise.reject(this.next.error);
    return Promise.resolve({ id: "x", object: "chat.completion", created: 0, model: "m", choices: [] });
  }
  stream(_r: ChatRequest, _o: CallOptions): Promise<AsyncIterable<ChatCompletionChunk>> {
    this.clock.now += this.next.ms;
    const error = this.next.error;
    return Promise.resolve((async function* () {
      yield { id: "x", object: "chat.completion.chunk", created: 0, model: "m", choices: [] } as ChatCompletionChunk;
      if (error) throw error;
    })());
  }
}

function setup() {
  const clock = { now: 0 };
  const inner = new ScriptedProvider(clock);
  const stats = new DeploymentStats("d", { tauMs: 10_000, initialMs: 250 });
  const provider = new ObservedProvider(inner, { model: "m", stats, errorPenaltyMs: 1_000, now: () => clock.now });
  const options = { signal: new AbortController().signal, upstreamModel: "m" };
  const request = { model: "m", messages: [] } as unknown as ChatRequest;
  return { inner, stats, provider, options, request };
}

Deno.test("observed attempts: successes record their latency, the deployment's failures count as slow errors", async () => {
  const { inner, stats, provider, options, request } = setup();
  inner.next = { ms: 40 };
  await provider.complete(request, options);
  assert.equal(stats.peakMs(40), 40);
  assert.equal(stats.inFlight, 0);

  inner.next = { ms: 5, error: new ProviderError("boom", { status: 503 }) };
  await assert.rejects(provider.complete(request, options));
  assert.equal(stats.errors, 1);
  assert.equal(stats.peakMs(45), 1_000, "a fast failure is recorded as errorPenaltyMs");

  for (const status of [0, 429, 504]) {
    inner.next = { ms: 1, error: new ProviderError("x", { status }) };
    await assert.rejects(provider.complete(request, options));
  }
  assert.equal(stats.errors, 4);
  assert.equal(stats.requests, 5);
  assert.equal(stats.inFlight, 0);
});

Deno.test("observed attempts: the client's own 4xx and cancelled calls say nothing about the deployment", async () => {
  const { inner, stats, provider, options, request } = setup();
  inner.next = { ms: 3, error: new ProviderError("bad request", { status: 400 }) };
  await assert.rejects(provider.complete(request, options));
  inner.next = { ms: 3, error: new DOMException("client gone", "AbortError") };
  await assert.rejects(provider.complete(request, options));
  assert.equal(stats.errors, 0);
  assert.equal(stats.measured("json"), false, "no latency recorded");
  assert.equal(stats.inFlight, 0);
});

Deno.test("observed streams: in flight until the last chunk; a stream cut short counts as an error", async () => {
  const { inner, stats, provider, options, request } = setup();
  inner.next = { ms: 20 };
  const chunks = await provider.stream(request, options);
  assert.equal(stats.inFlight, 1);
  assert.equal(stats.peakMs(20, "stream"), 20, "streams record the time to their first chunk");
  assert.equal(stats.measured("json"), false, "apart from whole answers");
  for await (const _ of chunks) { /* drain */ }
  assert.equal(stats.inFlight, 0);

  inner.next = { ms: 20, error: new Error("connection reset mid-stream") };
  const cut = await provider.stream(request, options);
  await assert.rejects(async () => {
    for await (const _ of cut) { /* drain */ }
  });
  assert.equal(stats.errors, 1);
  assert.equal(stats.inFlight, 0);
});
