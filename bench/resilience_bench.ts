/**
 * The added cost of the resilience stack on the happy path, beside the bare provider call: a zero-latency
 * in-process provider answers at once, so what is measured is overhead only. Target: ≤ 50 µs per request for
 * the whole stack (rate limit + admission + single-flight + retry/bulkhead/breaker/timeout + attempt metrics).
 *
 *     deno bench -A bench/resilience_bench.ts
 *
 * @module
 */
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from "../src/gateway/chat_schema.ts";
import type { ChatCall } from "../src/gateway/stages.ts";
import { Timing } from "../src/gateway/timing.ts";
import { DirectUpstream } from "../src/gateway/direct_upstream.ts";
import { requestKey } from "../src/gateway/request_key.ts";
import type { CallOptions, Provider } from "../src/providers/types.ts";
import type { Route } from "../src/providers/registry.ts";
import { resilienceConfigSchema } from "../src/resilience/config.ts";
import { AdmissionController } from "../src/resilience/admission.ts";
import { SingleFlight } from "../src/resilience/dedup.ts";
import { ProviderPolicies } from "../src/resilience/provider_policy.ts";
import { ResilientUpstream } from "../src/resilience/resilient_upstream.ts";
import { TenantRateLimiter } from "../src/resilience/rate_limiter.ts";
import { GatewayMetrics } from "../src/telemetry/gateway_metrics.ts";
import { Telemetry } from "../src/telemetry/telemetry.ts";

/** Answers at once with a fixed completion: the provider costs nothing, so the stack's cost is what remains. */
class ZeroLatencyProvider implements Provider {
  readonly name = "zero";
  #completion: ChatCompletion = {
    id: "chatcmpl-zero",
    object: "chat.completion",
    created: 0,
    model: "zero",
    choices: [{ index: 0, message: { role: "assistant", content: "ok", refusal: null }, finish_reason: "stop" }],
    usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
  } as ChatCompletion;
  complete(_request: ChatRequest, _options: CallOptions): Promise<ChatCompletion> {
    return Promise.resolve(this.#completion);
  }
  stream(): Promise<AsyncIterable<ChatCompletionChunk>> {
    throw new Error("not used");
  }
}

const config = resilienceConfigSchema.parse({});
const provider = new ZeroLatencyProvider();
const route: Route = { provider, upstreamModel: "zero" };
const telemetry = new Telemetry({ serviceName: "bench" });
const metrics = new GatewayMetrics(telemetry);
const direct = new DirectUpstream(metrics);
const policies = new ProviderPolicies(() => config.upstream);
const resilient = new ResilientUpstream({ direct, policies, fallbacks: () => [] });
const limiter = new TenantRateLimiter(config.rateLimits);
const admission = new AdmissionController(config.admission);
const dedup = new SingleFlight();

let n = 0;
/** A fresh call per iteration (distinct prompts: single-flight must not turn the bench into cache hits). */
function call(): ChatCall {
  return {
    request: { model: "zero", messages: [{ role: "user", content: `question number ${n++}` }] },
    tenant: "bench",
    agentId: `agent-${n % 8}`,
    cacheMode: "default",
    requestId: "r",
    // One signal per request, as the chat route makes (client disconnect + shutdown).
    signal: new AbortController().signal,
    timing: new Timing(),
  } as ChatCall;
}

Deno.bench("bare provider call", { group: "resilience", baseline: true }, async () => {
  const c = call();
  await provider.complete(c.request, { signal: c.signal, upstreamModel: "zero" });
});

Deno.bench("attempt metrics only (DirectUpstream)", { group: "resilience" }, async () => {
  await direct.complete([route], call());
});

Deno.bench("policy: retry+bulkhead+breaker+timeout (ResilientUpstream)", { group: "resilience" }, async () => {
  await resilient.complete([route], call());
});

Deno.bench("whole stack: rate limit + admission + single-flight + policy", { group: "resilience" }, async () => {
  const c = call();
  await limiter.admit(c);
  const release = await admission.acquire();
  try {
    await dedup.run(requestKey(c), c, async (s) => {
      const { completion, route: used } = await resilient.complete([route], s ? { ...c, signal: s } : c);
      return { kind: "completion", completion, route: used };
    });
  } finally {
    release();
  }
});
