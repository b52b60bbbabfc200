/**
 * Test support for routing: a gateway with simulated deployments, a closed-loop load driver that counts which
 * deployment answered each call (from the simulated providers' own call counts), and a seeded PRNG.
 *
 * @module
 */
import { startGateway, type TestGateway } from "../support/gateway.ts";
import { SimulatedProvider } from "../../src/providers/simulated.ts";

/** A simulated deployment's settings (`providers.deployments.<name>`). */
export type SimDeployment = Record<string, unknown> & { simProfile?: Record<string, unknown> | string };

/** Starts an in-process gateway whose `routing.models` balance the given simulated deployments. */
export function startRoutingGateway(options: {
  deployments: Record<string, SimDeployment>;
  models: Record<string, Record<string, unknown>>;
  routing?: Record<string, unknown>;
  resilience?: Record<string, unknown>;
}): Promise<TestGateway> {
  const deployments = Object.fromEntries(
    Object.entries(options.deployments).map(([name, d]) => [name, { type: "sim", ...d }]),
  );
  return startGateway({
    overrides: {
      providers: { deployments },
      routing: { models: options.models, ...options.routing },
      // Routing tests count upstream calls: no cache (and no embedder start-up cost).
      cache: { enabled: false },
      resilience: {
        // No retries: each call's outcome shows the routing decision, not the retry policy's.
        upstream: { retry: { maxRetries: 0 } },
        rateLimits: { enabled: false },
        dedup: false,
        ...options.resilience,
      },
    },
  });
}

/** The simulated provider of a deployment. */
export function simOf(gw: TestGateway, name: string): SimulatedProvider {
  const provider = gw.gateway.registry.get(name);
  if (!(provider instanceof SimulatedProvider)) throw new Error(`deployment ${name} is not simulated`);
  return provider;
}

/** Calls made to each deployment so far. */
export function callCounts(gw: TestGateway, names: string[]): Record<string, number> {
  return Object.fromEntries(names.map((n) => [n, simOf(gw, n).stats().calls]));
}

/** Per-deployment difference of two counts. */
export function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - (before[k] ?? 0)]));
}

/** Share of `name` in a count. */
export function share(counts: Record<string, number>, name: string): number {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return total === 0 ? 0 : counts[name] / total;
}

let serial = 0;

/**
 * Sends chat calls for `model` from `concurrency` closed-loop workers for `durationMs` (each prompt distinct, cache
 * bypassed); returns the HTTP statuses seen.
 */
export async function drive(
  url: string,
  model: string,
  options: { concurrency: number; durationMs: number; stream?: boolean },
): Promise<number[]> {
  const statuses: number[] = [];
  const deadline = performance.now() + options.durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-amas-cache": "bypass" },
        body: JSON.stringify({
          model,
          stream: options.stream ?? false,
          messages: [{ role: "user", content: `routing test call ${serial++} ${Math.random()}` }],
        }),
      });
      await res.text();
      statuses.push(res.status);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return statuses;
}

/** A small seeded PRNG (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
