import assert from "node:assert/strict";
import { arrivalTimes, vusAt } from "../../src/loadtest/executor.ts";
import { applyOverrides, defineScenario, type OpenLoad } from "../../src/loadtest/scenario.ts";
import { seededRandom } from "../../src/loadtest/prompts.ts";
import { RequestMix } from "../../src/loadtest/prompts.ts";
import { mixSchema } from "../../src/loadtest/scenario.ts";

function open(load: Partial<OpenLoad> & Pick<OpenLoad, "stages">): OpenLoad {
  return { model: "open", arrivals: "uniform", maxInFlight: 100, ...load };
}

Deno.test("a constant rate gives evenly spaced intended send times", () => {
  const times = [...arrivalTimes(open({ stages: [{ durationS: 2, rate: 10 }] }))];
  assert.equal(times.length, 20);
  times.forEach((t, i) => assert.ok(Math.abs(t - i * 100) < 1e-6, `arrival ${i} at ${t}`));
});

Deno.test("a linear ramp follows the integral of the rate", () => {
  // 0 → 20 req/s over 4 s: 40 arrivals in all, a quarter of them in the first half (∫ = t² · 2.5).
  const times = [...arrivalTimes(open({ startRate: 0, stages: [{ durationS: 4, rate: 20 }] }))];
  assert.equal(times.length, 40);
  assert.equal(times.filter((t) => t < 2000).length, 10);
  for (let i = 1; i < times.length; i++) assert.ok(times[i] >= times[i - 1]);
  // Then a hold and a ramp down: 40 + 20*2 + 10 = 90.
  const more = [
    ...arrivalTimes(open({
      startRate: 0,
      stages: [{ durationS: 4, rate: 20 }, { durationS: 2, rate: 20 }, {
        durationS: 1,
        rate: 0,
      }],
    })),
  ];
  assert.equal(more.length, 90);
  assert.ok(more[more.length - 1] <= 7000);
});

Deno.test("Poisson arrivals keep the mean rate", () => {
  const times = [
    ...arrivalTimes(open({ arrivals: "poisson", stages: [{ durationS: 100, rate: 50 }] }), seededRandom(3)),
  ];
  assert.ok(Math.abs(times.length - 5000) < 250, `${times.length} arrivals`);
});

Deno.test("virtual users ramp between stages", () => {
  const load = defineScenario({
    name: "x",
    description: "x",
    load: { model: "closed", startVus: 10, stages: [{ durationS: 2, vus: 100 }, { durationS: 1, vus: 100 }] },
  }).load;
  assert.ok(load.model === "closed");
  assert.equal(vusAt(load, 0), 10);
  assert.equal(vusAt(load, 1000), 55);
  assert.equal(vusAt(load, 2500), 100);
  assert.equal(vusAt(load, 3000), 0);
});

Deno.test("scenario validation names the field; overrides scale time, rate and SLOs", () => {
  assert.throws(
    () => defineScenario({ name: "Bad Name", description: "x", load: { model: "open", stages: [] } }),
    /scenario Bad Name: name/,
  );
  assert.throws(
    () =>
      defineScenario({
        name: "x",
        description: "x",
        load: { model: "open", stages: [{ durationS: 1, rate: 1 }] },
        mix: { prompts: { repeatRate: 0.8, paraphraseRate: 0.5 } },
      }),
    /repeatRate \+ paraphraseRate/,
  );
  const s = defineScenario({
    name: "x",
    description: "x",
    load: { model: "open", startRate: 5, stages: [{ durationS: 10, rate: 20 }, { durationS: 30, rate: 10 }] },
    actions: [{ atS: 20, sim: { error_rate: 1 } }],
    slo: { p95Ms: 100 },
  });
  const o = applyOverrides(s, { durationS: 4, rate: 40, slo: { p99Ms: 5 } });
  assert.ok(o.load.model === "open");
  assert.deepEqual(o.load.stages, [{ durationS: 1, rate: 40 }, { durationS: 3, rate: 20 }]);
  assert.equal(o.load.startRate, 10);
  assert.equal(o.actions[0].atS, 2);
  assert.deepEqual(o.slo, { p95Ms: 100, p99Ms: 5 });
  assert.throws(() => applyOverrides(s, { vus: 3 }), /--vus applies to closed-model/);
});

Deno.test("the request mix honours repeat and paraphrase rates and the weights", () => {
  const mix = new RequestMix(
    mixSchema.parse({
      agents: { a: 3, b: 1 },
      models: { "sim-small": 1, "sim-large": 1 },
      streamRate: 0.25,
      prompts: { repeatRate: 0.5, paraphraseRate: 0.2, hotSet: 10 },
    }),
    42,
  );
  const n = 4000;
  const kinds: Record<string, number> = {};
  const agents: Record<string, number> = {};
  let streams = 0;
  const seen = new Set<string>();
  const fresh = new Map<string, string>();
  const scopeOf = new Map<string, string>();
  let repeatsSeenBefore = 0;
  for (let i = 0; i < n; i++) {
    const r = mix.next();
    kinds[r.promptKind] = (kinds[r.promptKind] ?? 0) + 1;
    agents[r.agent] = (agents[r.agent] ?? 0) + 1;
    if (r.stream) streams++;
    const text = JSON.parse(r.body).messages.at(-1).content;
    if (r.promptKind === "repeat" && seen.has(text)) repeatsSeenBefore++;
    // A repeat is the same request again: same agent and model, so the same cache scope.
    if (r.promptKind === "fresh") scopeOf.set(text, `${r.agent}/${r.model}`);
    if (r.promptKind === "repeat") assert.equal(scopeOf.get(text), `${r.agent}/${r.model}`);
    if (r.promptKind === "fresh") fresh.set(/\(case ([^)]+)\)/.exec(text)![1], text);
    if (r.promptKind === "paraphrase") {
      // Same question (same case id as an earlier fresh prompt), other words.
      const original = fresh.get(/\(case ([^)]+)\)/.exec(text)![1]);
      assert.ok(original !== undefined && original !== text, text);
    }
    seen.add(text);
  }
  assert.ok(Math.abs(kinds.repeat / n - 0.5) < 0.03, JSON.stringify(kinds));
  assert.ok(Math.abs(kinds.paraphrase / n - 0.2) < 0.03, JSON.stringify(kinds));
  // A repeat is word for word an earlier prompt.
  assert.equal(repeatsSeenBefore, kinds.repeat);
  assert.ok(Math.abs(agents.a / n - 0.75) < 0.03);
  assert.ok(Math.abs(streams / n - 0.25) < 0.03);
});
