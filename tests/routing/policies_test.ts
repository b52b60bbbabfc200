import assert from "node:assert/strict";
import { parseConfig } from "../../src/config.ts";
import { NotFoundError } from "../../src/errors.ts";
import type { ChatCall } from "../../src/gateway/stages.ts";
import { ProviderRegistry } from "../../src/providers/registry.ts";
import { type BreakerState, type DeploymentHealth, DeploymentRouter } from "../../src/routing/mod.ts";
import { seeded } from "./support.ts";

/** A router over simulated deployments with a fake clock, a seeded PRNG and a settable breaker double. */
function setup(
  deployments: Record<string, Record<string, unknown>>,
  model: Record<string, unknown>,
  routing: Record<string, unknown> = {},
) {
  const config = parseConfig({
    providers: {
      deployments: Object.fromEntries(Object.entries(deployments).map(([k, v]) => [k, { type: "sim", ...v }])),
    },
    routing: { models: { m: { deployments: Object.keys(deployments), ...model } }, ...routing },
  });
  const registry = new ProviderRegistry(config.providers, { routedModels: ["m"] });
  const clock = { now: 1_000 };
  const states = new Map<string, BreakerState>();
  const refusing = new Set<string>();
  const health: DeploymentHealth = {
    isOpen: (d) => refusing.has(d),
    state: (d) => states.get(d) ?? "closed",
  };
  const router = new DeploymentRouter({
    registry,
    routing: config.routing,
    deployments: config.providers.deployments,
    health,
    now: () => clock.now,
    random: seeded(7),
  });
  const call = (extra: Record<string, unknown> = {}) =>
    ({
      request: { model: "m", messages: [{ role: "user", content: "hello there" }], ...extra },
    }) as unknown as ChatCall;
  const order = (extra?: Record<string, unknown>) => router.candidates(call(extra)).map((r) => r.provider.name);
  const firsts = (n: number, extra?: Record<string, unknown>) => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const first = order(extra)[0];
      counts[first] = (counts[first] ?? 0) + 1;
    }
    return counts;
  };
  const observe = (name: string, ms: number, failed = false) => router.stats(name)!.observe(ms, failed, clock.now);
  return { router, registry, clock, states, refusing, order, firsts, observe, call };
}

Deno.test("weighted: smooth weighted round robin splits first choices exactly by weight, without bursts", () => {
  const { order } = setup({ a: { weight: 3 }, b: { weight: 1 }, c: { weight: 0 } }, { policy: "weighted" });
  const seq = Array.from({ length: 400 }, () => order());
  const firsts = seq.map((o) => o[0]);
  assert.equal(firsts.filter((d) => d === "a").length, 300);
  assert.equal(firsts.filter((d) => d === "b").length, 100);
  assert.equal(firsts.filter((d) => d === "c").length, 0, "weight 0 is a fallback only");
  assert.ok(!firsts.join("").includes("aaaa"), "3:1 interleaves as a,a,b,a…");
  for (const o of seq) assert.deepEqual([...o].sort(), ["a", "b", "c"], "every deployment stays in the chain");
  assert.equal(seq[0][2], "c");
});

Deno.test("priority: the lowest tier first, split by weight inside it; lower tiers are the fallback chain", () => {
  const { order, firsts } = setup({
    backup: { priority: 1 },
    p1: { priority: 0, weight: 1 },
    p2: { priority: 0, weight: 1 },
    last: { priority: 5 },
  }, { policy: "priority" });
  assert.deepEqual(firsts(100), { p1: 50, p2: 50 });
  assert.deepEqual(order().slice(2), ["backup", "last"]);
});

Deno.test("least-latency: the fastest deployment wins its pairs; the slowest is never first", () => {
  const { observe, firsts, order } = setup({ a: {}, b: {}, c: {} }, { policy: "least-latency" });
  observe("a", 10);
  observe("b", 50);
  observe("c", 100);
  const counts = firsts(3_000);
  // Power of two choices: a is first whenever it is drawn (2 pairs of 3), b when paired with c.
  assert.ok(Math.abs(counts.a / 3_000 - 2 / 3) < 0.05, JSON.stringify(counts));
  assert.ok(Math.abs(counts.b / 3_000 - 1 / 3) < 0.05, JSON.stringify(counts));
  assert.equal(counts.c, undefined);
  const chain = order();
  assert.deepEqual(chain.slice(1), chain[0] === "a" ? ["b", "c"] : ["a", "c"]);
});

Deno.test("least-latency: calls in flight raise a deployment's cost", () => {
  const { router, observe, order } = setup({ a: {}, b: {} }, { policy: "least-latency" });
  observe("a", 20);
  observe("b", 50);
  assert.equal(order()[0], "a");
  router.stats("a")!.inFlight = 2; // 20 × 3 = 60 > 50 × 1
  assert.equal(order()[0], "b");
});

Deno.test("least-latency: a slower answer raises the estimate at once (peak), a faster one lowers it gradually", () => {
  const { router, observe, clock } = setup({ a: {} }, { policy: "least-latency" });
  observe("a", 20);
  clock.now += 100;
  observe("a", 200);
  assert.equal(router.stats("a")!.peakMs(clock.now), 200);
  clock.now += 100;
  observe("a", 20);
  const peak = router.stats("a")!.peakMs(clock.now);
  assert.ok(peak > 150 && peak < 200, `peak ${peak}`);
});

Deno.test("least-latency: an idle deployment's estimate decays, so it is measured again", () => {
  const { observe, order, clock } = setup({ a: {}, b: {} }, { policy: "least-latency" });
  observe("a", 50);
  observe("b", 500);
  assert.equal(order()[0], "a");
  // a keeps being measured at 50 ms; b is not called and its 500 ms reading ages (tau 10 s).
  for (let t = 0; t < 40; t++) {
    clock.now += 1_000;
    observe("a", 50);
  }
  assert.equal(order()[0], "b");
});

Deno.test("cost-aware: the cheapest deployment that meets the target; else the fastest", () => {
  const deployments = {
    cheap: { inputPerMTok: 0.1, outputPerMTok: 0.4 },
    mid: { inputPerMTok: 1, outputPerMTok: 4 },
    premium: { inputPerMTok: 10, outputPerMTok: 30 },
  };
  const { observe, order, router } = setup(deployments, { policy: "cost-aware", latencyTargetMs: 150 });
  // Not measured yet: assumed to meet the target, so the cheapest is tried first, one call at a time.
  assert.equal(order()[0], "cheap");
  router.stats("cheap")!.inFlight = 1;
  assert.equal(order()[0], "mid");
  router.stats("cheap")!.inFlight = 0;
  observe("cheap", 400);
  observe("mid", 80);
  observe("premium", 20);
  assert.deepEqual(order(), ["mid", "premium", "cheap"]);

  const slow = setup(deployments, { policy: "cost-aware", latencyTargetMs: 10 });
  slow.observe("cheap", 400);
  slow.observe("mid", 80);
  slow.observe("premium", 20);
  assert.deepEqual(slow.order(), ["premium", "mid", "cheap"], "nobody meets 10 ms: fastest first");

  const loose = setup(deployments, { policy: "cost-aware" });
  loose.observe("cheap", 400);
  loose.observe("mid", 80);
  assert.equal(loose.order()[0], "cheap", "no target: the cheapest");
});

Deno.test("streams and JSON calls are judged by their own latency: first chunk vs whole answer", () => {
  const { router, order, clock } = setup({ a: {}, b: {} }, { policy: "least-latency" });
  // a answers whole calls fast but starts streams slowly; b the other way round.
  router.stats("a")!.observe(50, false, clock.now, "json");
  router.stats("a")!.observe(300, false, clock.now, "stream");
  router.stats("b")!.observe(200, false, clock.now, "json");
  router.stats("b")!.observe(40, false, clock.now, "stream");
  assert.equal(order()[0], "a");
  assert.equal(order({ stream: true })[0], "b");

  const ca = setup({ cheap: { inputPerMTok: 1, outputPerMTok: 1 }, dear: { inputPerMTok: 9, outputPerMTok: 9 } }, {
    policy: "cost-aware",
    latencyTargetMs: 500,
    streamLatencyTargetMs: 100,
  });
  for (const [name, json, stream] of [["cheap", 400, 250], ["dear", 300, 60]] as const) {
    ca.router.stats(name)!.observe(json, false, ca.clock.now, "json");
    ca.router.stats(name)!.observe(stream, false, ca.clock.now, "stream");
  }
  assert.equal(ca.order()[0], "cheap", "both meet 500 ms for a whole answer: the cheaper");
  assert.equal(ca.order({ stream: true })[0], "dear", "only dear starts streaming within 100 ms");
});

Deno.test("cost-aware: the price depends on the call's prompt and completion length; unpriced goes last", () => {
  const { observe, order } = setup({
    promptHeavy: { inputPerMTok: 10, outputPerMTok: 1 },
    outputHeavy: { inputPerMTok: 1, outputPerMTok: 10 },
    unpriced: {},
  }, { policy: "cost-aware", latencyTargetMs: 1_000 });
  for (const d of ["promptHeavy", "outputHeavy", "unpriced"]) observe(d, 10);
  const longPrompt = [{ role: "user", content: "x".repeat(40_000) }];
  assert.deepEqual(order({ messages: longPrompt, max_tokens: 10 }), ["outputHeavy", "promptHeavy", "unpriced"]);
  assert.deepEqual(order({ max_tokens: 4_000 }), ["promptHeavy", "outputHeavy", "unpriced"]);
});

Deno.test("breakers: a refusing deployment goes last, gets the probe once its break elapsed, then slow-starts", () => {
  const { states, refusing, firsts, order, clock, observe } = setup({ a: {}, b: {} }, { policy: "weighted" }, {
    slowStartMs: 10_000,
  });
  observe("a", 10);
  observe("b", 10);
  assert.deepEqual(firsts(100), { a: 50, b: 50 });

  states.set("a", "open");
  refusing.add("a");
  assert.deepEqual(firsts(100), { b: 100 }, "no first choice while a's breaker refuses calls");
  assert.deepEqual(order(), ["b", "a"], "still in the chain, last: the invoker fails fast there");

  refusing.delete("a"); // break elapsed: the breaker lets one probe through
  assert.equal(order()[0], "a", "the probe goes to a");
  states.set("a", "half_open");
  refusing.add("a"); // the probe is out
  assert.deepEqual(firsts(20), { b: 20 });

  states.set("a", "closed"); // the probe succeeded
  refusing.delete("a");
  const early = firsts(1_000).a ?? 0;
  clock.now += 5_000;
  const middle = firsts(1_000).a ?? 0;
  clock.now += 5_000;
  const late = firsts(1_000).a ?? 0;
  assert.ok(early < 120, `just closed: a gets about 10% of its 50% share, got ${early}/1000`);
  assert.ok(middle > early && middle < late, `ramping: ${early} → ${middle} → ${late}`);
  assert.ok(Math.abs(late - 500) < 60, `after slow start a is back to its share: ${late}`);
});

Deno.test("saturation: a deployment at maxConcurrency is tried after the ready ones", () => {
  const { router, order, observe } = setup({ a: { maxConcurrency: 2 }, b: {} }, { policy: "least-latency" });
  observe("a", 10);
  observe("b", 100);
  router.stats("a")!.inFlight = 1;
  assert.equal(order()[0], "a");
  router.stats("a")!.inFlight = 2;
  assert.deepEqual(order(), ["b", "a"]);
});

Deno.test("models not in routing.models are routed as before; unknown models are a 404", () => {
  const { router, call } = setup({ a: {} }, {});
  const sim = router.candidates(call({ model: "sim-small" }));
  assert.equal(sim.length, 1);
  assert.equal(sim[0].provider.name, "sim");
  assert.throws(() => router.candidates(call({ model: "gpt-nope" })), NotFoundError);
  const routed = router.candidates(call());
  assert.equal(routed[0].provider.name, "a");
  assert.equal(routed[0].upstreamModel, "m");
});

Deno.test("config: unknown or repeated deployments and taken names stop start-up naming the setting", () => {
  assert.throws(
    () => parseConfig({ routing: { models: { m: { deployments: ["ghost"] } } } }),
    /routing\.models\.m\.deployments\.0: deployment "ghost" is not in providers\.deployments/,
  );
  assert.throws(
    () =>
      parseConfig({
        providers: { deployments: { a: { type: "sim" } } },
        routing: { models: { m: { deployments: ["a", "a"] } } },
      }),
    /listed twice/,
  );
  assert.throws(() => parseConfig({ providers: { deployments: { openai: { type: "openai" } } } }), /already taken/);
  assert.throws(
    () => parseConfig({ providers: { deployments: { "a b": { type: "sim" } } } }),
    /deployments\.a b: a deployment name/,
  );
  assert.throws(
    () =>
      parseConfig({
        providers: { deployments: { a: { type: "sim" } } },
        routing: { models: { m: { policy: "fastest", deployments: ["a"] } } },
      }),
    /routing\.models\.m\.policy/,
  );
  assert.throws(
    () => parseConfig({ providers: { deployments: { a: { type: "sim", simProfile: "/nonexistent/cal.json#a" } } } }),
    /providers\.deployments\.a\.simProfile: cannot read calibration file \/nonexistent\/cal\.json/,
  );
});
