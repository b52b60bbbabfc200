import assert from "node:assert/strict";
import { startGateway } from "../support/gateway.ts";
import { parseConfig } from "../../src/config.ts";
import { ProviderRegistry } from "../../src/providers/registry.ts";
import { calibrate, calibrationTargets } from "../../src/routing/calibration.ts";
import { drive, startRoutingGateway } from "./support.ts";

Deno.test("an OpenAI-compatible deployment over real HTTP: routed to, streamed from, and calibrated", async () => {
  // The upstream: another gateway, which is an OpenAI-compatible endpoint serving sim-* models.
  // Its cache is off, so every call the routing gateway makes reaches its simulator.
  await using upstream = await startGateway({
    env: { AMAS_CACHE_ENABLED: "false" },
    overrides: { resilience: { rateLimits: { enabled: false } } },
  });
  const remote = { type: "openai", baseUrl: `${upstream.url}/v1`, apiKey: "sk-unused-upstream", model: "sim-small" };
  await using gw = await startRoutingGateway({
    deployments: { remote, local: { simProfile: { ttftMs: 10, completionTokens: 8 } } },
    models: { "chat-r": { policy: "weighted", deployments: ["remote", "local"] } },
  });
  const statuses = [
    ...await drive(gw.url, "chat-r", { concurrency: 2, durationMs: 500 }),
    ...await drive(gw.url, "chat-r", { concurrency: 2, durationMs: 300, stream: true }),
  ];
  assert.ok(statuses.every((s) => s === 200), `statuses ${[...new Set(statuses)]}`);
  const snapshot = gw.gateway.routing!.router.snapshot();
  assert.equal(snapshot.deployments.remote.type, "openai");
  assert.ok(snapshot.deployments.remote.requests > 0 && snapshot.deployments.remote.errors === 0);
  assert.equal(upstream.gateway.registry.sim.stats().byModel["sim-small"], snapshot.deployments.remote.requests);

  const config = parseConfig({ providers: { deployments: { remote } } });
  const registry = new ProviderRegistry(config.providers);
  const report = await calibrate(
    calibrationTargets(registry, config.providers.deployments, config.routing),
    config.routing,
    {
      requests: 6,
      concurrency: 2,
      maxTokens: 16,
      timeoutMs: 10_000,
    },
  );
  await registry.close();
  const measured = report.deployments.remote;
  assert.equal(measured.ok, 6);
  assert.equal(measured.upstreamModel, "sim-small");
  // sim-small's profile: 40 ms to the first token.
  assert.ok(measured.ttftMs!.p50 >= 40, JSON.stringify(measured.ttftMs));
  assert.ok(measured.completionTokensMean! > 0 && measured.completionTokensMean! <= 16);
});

Deno.test("an unreachable OpenAI-compatible deployment fails over to the other one and is counted as errors", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await using gw = await startRoutingGateway({
    deployments: {
      dead: { type: "openai", baseUrl: `http://127.0.0.1:${deadPort}/v1`, model: "x", priority: 0 },
      backup: { priority: 1, simProfile: { ttftMs: 5, completionTokens: 8 } },
    },
    models: { "chat-d": { policy: "priority", deployments: ["dead", "backup"] } },
  });
  const statuses = await drive(gw.url, "chat-d", { concurrency: 1, durationMs: 300 });
  assert.ok(statuses.length > 0 && statuses.every((s) => s === 200), `statuses ${[...new Set(statuses)]}`);
  const { dead } = gw.gateway.routing!.router.snapshot().deployments;
  assert.ok(dead.errors >= 1 && dead.errors === dead.requests, JSON.stringify(dead));
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(text, /amas_routing_errors_total\{[^}]*deployment="dead"[^}]*outcome="connect_error"\} \d+/);
});
