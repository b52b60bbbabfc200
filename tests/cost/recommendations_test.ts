/**
 * A recorded synthetic traffic profile (fixtures/synthetic_profile.json) produces exactly the expected
 * recommendations, with savings computed here independently from the profile's raw figures and the rule formulas
 * of docs/COST.md; and `deno task costs --profile` prints them as a table.
 */
import assert from "node:assert/strict";
import { findProvider } from "@pydantic/genai-prices";
import { costConfigSchema } from "../../src/cost/config.ts";
import { PriceTable } from "../../src/cost/prices.ts";
import { type CostProfile, recommend } from "../../src/cost/recommendations.ts";
import { formatTable, readProfile } from "../../src/cost/cli.ts";

const FIXTURE = new URL("./fixtures/synthetic_profile.json", import.meta.url).pathname;
const MONTH_FACTOR = 30; // the profile spans exactly one day (86,400 s): a month is 30 of them
const rules = costConfigSchema.parse({}).recommendations;

function openai(model: string): { input: number; output: number } {
  const prices = findProvider({ providerId: "openai" })!.models.find((m) => m.id === model)!.prices as Record<
    string,
    number
  >;
  return { input: prices.input_mtok, output: prices.output_mtok };
}

function near(actual: number | undefined, expected: number, what: string): void {
  assert.ok(actual !== undefined, `${what}: missing`);
  assert.ok(Math.abs(actual - expected) <= 1e-6, `${what}: got ${actual}, expected ${expected}`);
}

Deno.test("the synthetic profile yields the expected recommendations with exact savings", async () => {
  const profile = await readProfile(FIXTURE);
  const recs = recommend(profile, new PriceTable(profile.prices), rules);
  const byId = new Map(recs.map((r) => [r.id, r]));
  const saving = (id: string) => byId.get(id)?.estimated_monthly_saving_usd;

  // (a) summarizer: 150,000 in / 100,000 out on sim-large (priced like gpt-4o) vs sim-small (like gpt-4o-mini).
  const big = openai("gpt-4o"), mini = openai("gpt-4o-mini");
  const summarizerNow = (150_000 * big.input + 100_000 * big.output) / 1e6;
  assert.ok(Math.abs(summarizerNow - 1.375) < 1e-12, "the fixture's recorded cost matches sim-large's price");
  const summarizerCheap = (150_000 * mini.input + 100_000 * mini.output) / 1e6;
  near(saving("model-downgrade:acme/summarizer:sim-large"), (1.375 - summarizerCheap) * MONTH_FACTOR, "downgrade");
  // (a) support on gpt-4o → gpt-4o-mini, with the library's prices.
  const supportCheap = (100_000 * mini.input + 50_000 * mini.output) / 1e6;
  near(saving("model-downgrade:globex/support:gpt-4o"), (0.75 - supportCheap) * MONTH_FACTOR, "gpt-4o downgrade");
  // Long prompts (researcher), no cheaper model (gpt-4o-mini) and too few requests (tiny): no advice.
  assert.ok(!byId.has("model-downgrade:acme/researcher:sim-large"));
  assert.ok(!byId.has("model-downgrade:acme/chat:gpt-4o-mini"));
  assert.ok(!byId.has("model-downgrade:globex/tiny:sim-large"));

  // (b) 150 near-misses × researcher's average upstream cost (3.1 USD / 200 requests).
  near(saving("cache-near-miss:acme/researcher"), 150 * (3.1 / 200) * MONTH_FACTOR, "near-miss");
  assert.match(byId.get("cache-near-miss:acme/researcher")!.detail, /threshold of 0\.81/);
  assert.ok(!byId.has("cache-near-miss:acme/summarizer"), "5 near-misses are below the minimum of 10");

  // (c) summarizer's embeddings cost 0.5 USD, its hits saved 0.01375 USD.
  near(saving("cache-unprofitable:acme/summarizer"), (0.5 - 0.01375) * MONTH_FACTOR, "unprofitable cache");
  assert.ok(!byId.has("cache-unprofitable:acme/researcher"), "researcher's cache saves more than it costs");

  // (d) peak 3 rps × 2 replicas fits on ceil(6 / 15) = 1 replica: 720 replica-hours at 0.5 cores + 0.5 GiB.
  const replicaHour = 0.5 * 0.04 + 0.5 * 0.005;
  near(saving("replicas-idle:min-replicas"), 720 * replicaHour, "idle replicas");
  assert.equal(byId.get("replicas-idle:min-replicas")!.evidence.recommended_min_replicas, 1);

  // (e) CPU: p95 50m × 1.3 → 100m (rounded up to 50m steps); memory: 150 MiB × 1.3 → 256 MiB (64 MiB steps).
  near(saving("right-size:cpu"), (0.5 - 0.1) * 0.04 * 720 * 2, "cpu right-size");
  near(saving("right-size:memory"), 0.25 * 0.005 * 720 * 2, "memory right-size");

  assert.equal(recs.length, 7, `exactly the expected recommendations: ${recs.map((r) => r.id).join(", ")}`);
  const savings = recs.map((r) => r.estimated_monthly_saving_usd);
  assert.deepEqual(savings, [...savings].sort((a, b) => b - a), "largest saving first");
  for (const r of recs) {
    assert.ok(r.title && r.detail && typeof r.evidence === "object", `${r.id} is complete`);
  }
});

Deno.test("rules stay quiet below their thresholds and the minimum saving", async () => {
  const profile = await readProfile(FIXTURE);
  const prices = new PriceTable(profile.prices);
  const strict = recommend(profile, prices, { ...rules, minMonthlySavingUsd: 20 });
  assert.deepEqual(strict.map((r) => r.id).sort(), [
    "cache-near-miss:acme/researcher",
    "model-downgrade:acme/summarizer:sim-large",
    "model-downgrade:globex/support:gpt-4o",
    "right-size:cpu",
  ]);
  // Busy replicas (above the idle share of the target) and well-used containers give no infrastructure advice.
  const busy: CostProfile = {
    ...profile,
    scaling: { ...profile.scaling!, rpsPerReplica: 12, peakRpsPerReplica: 20 },
    container: { ...profile.container!, observed: { samples: 100, cpuP95Cores: 0.4, peakRssBytes: 400 * 1024 ** 2 } },
  };
  const ids = recommend(busy, prices, rules).map((r) => r.id);
  assert.ok(!ids.some((id) => id.startsWith("replicas-idle") || id.startsWith("right-size")), ids.join(", "));
  // A replica count above the minimum means KEDA already scaled out: not idle.
  const scaled: CostProfile = { ...profile, scaling: { ...profile.scaling!, replicas: 4 } };
  assert.ok(!recommend(scaled, prices, rules).some((r) => r.id === "replicas-idle:min-replicas"));
});

Deno.test("deno task costs --profile prints the table of a recorded profile", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", "src/cost/cli.ts", "--profile", FIXTURE],
    cwd: new URL("../../", import.meta.url),
    env: { AMAS_CONFIG: "" },
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const profile = await readProfile(FIXTURE);
  assert.equal(text, formatTable(recommend(profile, new PriceTable(profile.prices), rules)) + "\n");
  assert.match(text, /\$69\.75\s+cache-near-miss:acme\/researcher/);
  assert.match(text, /total estimated monthly saving/);

  const bad = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", "src/cost/cli.ts", "--profile", "deno.json"],
    cwd: new URL("../../", import.meta.url),
  }).output();
  assert.equal(bad.code, 1);
  assert.match(new TextDecoder().decode(bad.stderr), /is not a cost profile/);
});
