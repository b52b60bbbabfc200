/**
 * The resilience settings: environment names, per-provider overrides merged over the default policy, and a
 * fallback chain naming an unrouted model stopping start-up with a clear message.
 */
import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { policyFor } from "../../src/resilience/config.ts";
import { createGateway } from "../../src/wiring.ts";
import { Deadlines } from "../../src/resilience/deadlines.ts";
import { sleep } from "./helpers.ts";

Deno.test("environment names reach the resilience settings", () => {
  const c = loadConfig({
    env: {
      AMAS_TENANT_RPM: "7",
      AMAS_AGENT_TPM: "900",
      AMAS_BREAKER_FAILURES: "3",
      AMAS_UPSTREAM_TIMEOUT_MS: "1500",
      AMAS_DEDUP: "false",
      AMAS_MAX_QUEUE_WAIT_MS: "250",
      AMAS_RATE_LIMITS_ENABLED: "off",
    },
  });
  const r = c.resilience;
  assert.equal(r.rateLimits.tenant.requestsPerMinute, 7);
  assert.equal(r.rateLimits.tenant.tokensPerMinute, 10_000_000, "unset fields keep their defaults");
  assert.equal(r.rateLimits.agent.tokensPerMinute, 900);
  assert.equal(r.rateLimits.enabled, false);
  assert.equal(r.upstream.breaker.consecutiveFailures, 3);
  assert.equal(r.upstream.timeoutMs, 1500);
  assert.equal(r.dedup, false);
  assert.equal(r.admission.maxQueueWaitMs, 250);
});

Deno.test("per-provider overrides merge field by field over the default policy", () => {
  const c = loadConfig({
    env: {},
    overrides: {
      resilience: {
        upstream: { timeoutMs: 9_000, breaker: { consecutiveFailures: 7 } },
        providers: { west: { breaker: { halfOpenAfterMs: 100 } } },
      },
    },
  });
  const west = policyFor(c.resilience, "west");
  assert.equal(west.breaker.halfOpenAfterMs, 100);
  assert.equal(west.breaker.consecutiveFailures, 7, "inherited from upstream");
  assert.equal(west.timeoutMs, 9_000);
  assert.equal(policyFor(c.resilience, "east").breaker.halfOpenAfterMs, 5_000);
  assert.throws(
    () =>
      loadConfig({ env: {}, overrides: { resilience: { providers: { west: { bulkhead: { maxConcurrent: 0 } } } } } }),
    (e: Error) => e instanceof ConfigError && e.message.includes("resilience.providers.west.bulkhead.maxConcurrent"),
  );
});

Deno.test("a fallback to a model nothing serves stops start-up, naming the setting", async () => {
  const config = loadConfig({ env: {}, overrides: { resilience: { fallbacks: { "sim-small": ["gpt-nope"] } } } });
  await assert.rejects(createGateway(config), /resilience\.fallbacks\.sim-small: the model 'gpt-nope'/);
});

Deno.test("deadlines fire in order with one timer, and cancelled ones never fire", async () => {
  const d = new Deadlines(40);
  const fired: number[] = [];
  const cancels = [0, 1, 2, 3].map((i) => d.add(() => fired.push(i)));
  cancels[1]();
  await sleep(10);
  d.add(() => fired.push(4));
  assert.equal(d.size, 4);
  await sleep(80);
  assert.deepEqual(fired, [0, 2, 3, 4]);
  assert.equal(d.size, 0);
  // After an idle spell the next deadline still fires.
  d.add(() => fired.push(5));
  await sleep(80);
  assert.deepEqual(fired, [0, 2, 3, 4, 5]);
  d.close();
});
