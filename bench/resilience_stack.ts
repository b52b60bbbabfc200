/**
 * The resilience stack over a zero-latency in-process provider, for `resilience_bench.ts` (Deno.bench, wall
 * time) and `resilience_overhead.ts` (CPU time per request, robust on a loaded machine). The provider answers at
 * once, so what is measured is the stack's overhead only.
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

/** One way of making an upstream call, from bare to the whole stack. */
export interface Variant {
  name: string;
  run(): Promise<unknown>;
}

/**
 * The variants measured, first the baseline. Rate limits are raised out of reach (the check costs the same
 * whatever the limit; a bench must not turn into 429s) and every call has a fresh prompt (single-flight must
 * not turn the bench into shared answers) and its own signal, as the chat route makes one per request.
 */
export function variants(): Variant[] {
  const config = resilienceConfigSchema.parse({
    rateLimits: {
      tenant: { requestsPerMinute: 1e12, tokensPerMinute: 1e15 },
      agent: { requestsPerMinute: 1e12, tokensPerMinute: 1e15 },
    },
  });
  const provider = new ZeroLatencyProvider();
  const route: Route = { provider, upstreamModel: "zero" };
  const telemetry = new Telemetry({ serviceName: "bench" });
  const direct = new DirectUpstream(new GatewayMetrics(telemetry));
  const policies = new ProviderPolicies(() => config.upstream);
  const resilient = new ResilientUpstream({ direct, policies, fallbacks: () => [] });
  const limiter = new TenantRateLimiter(config.rateLimits);
  const admission = new AdmissionController(config.admission);
  const dedup = new SingleFlight();

  let n = 0;
  const call = (): ChatCall =>
    ({
      request: { model: "zero", messages: [{ role: "user", content: `question number ${n++}` }] },
      tenant: "bench",
      agentId: `agent-${n % 8}`,
      cacheMode: "default",
      requestId: "r",
      signal: new AbortController().signal,
      timing: new Timing(),
    }) as ChatCall;

  return [
    {
      name: "bare provider call",
      run: () => {
        const c = call();
        return provider.complete(c.request, { signal: c.signal, upstreamModel: "zero" });
      },
    },
    { name: "attempt metrics only (DirectUpstream)", run: () => direct.complete([route], call()) },
    { name: "policy: retry+bulkhead+breaker+timeout", run: () => resilient.complete([route], call()) },
    {
      name: "whole stack: rate limit+admission+single-flight+policy",
      run: async () => {
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
      },
    },
  ];
}
