/**
 * The seed's criterion end to end: "cost per request tracked → optimisation recommendations generated". A running
 * gateway takes traffic from three agents; every answer carries its cost; `GET /v1/costs` adds them up per agent;
 * `GET /v1/costs/recommendations` turns the figures into advice whose saving follows from those same figures; and
 * `deno task costs --url` prints it, records the profile, and replays it offline to the same advice.
 */
import assert from "node:assert/strict";
import { chatBody, postJson, startGateway } from "../support/gateway.ts";
import type { CostSummary } from "../../src/cost/accountant.ts";
import type { Recommendation } from "../../src/cost/recommendations.ts";

const ROOT = new URL("../../", import.meta.url);

async function pool<T>(items: T[], width: number, run: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: width }, async () => {
    while (queue.length) await run(queue.shift()!);
  }));
}

async function costsCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-read", "--allow-write", "--allow-env", "src/cost/cli.ts", ...args],
    cwd: ROOT,
    env: { AMAS_CONFIG: "", AMAS_API_KEY: "", AMAS_ADMIN_TOKEN: "" },
  }).output();
  const d = new TextDecoder();
  return { code: output.code, out: d.decode(output.stdout), err: d.decode(output.stderr) };
}

Deno.test("cost per request tracked → optimisation recommendations generated (running gateway)", async () => {
  await using gw = await startGateway({
    // Seconds of test traffic are the whole observation here; in production the default waits for 5 minutes.
    overrides: { cache: { enabled: false }, cost: { recommendations: { minObservedSeconds: 0 } } },
  });
  const url = `${gw.url}/v1/chat/completions`;
  const headerCost = new Map<string, number>();
  const send = async (agent: string, body: Record<string, unknown>) => {
    const res = await postJson(url, body, { "x-amas-agent": agent });
    assert.equal(res.status, 200, await res.clone().text());
    const header = res.headers.get("x-amas-cost-usd");
    assert.ok(header && /^\d+\.\d{8}$/.test(header), `cost header on every JSON answer: ${header}`);
    headerCost.set(agent, (headerCost.get(agent) ?? 0) + Number(header));
    await res.body?.cancel();
  };
  const longContext = "Background paragraph about the quarterly figures and their context. ".repeat(60);
  await pool(
    Array.from({ length: 25 }, (_, i) => i),
    5,
    (i) => send("summarizer", chatBody(`Summarise ticket #${i} in one line`, { model: "sim-large" })),
  );
  await pool(
    Array.from({ length: 20 }, (_, i) => i),
    5,
    (i) => send("researcher", chatBody(`${longContext} Question ${i}: what changed?`, { model: "sim-large" })),
  );
  await pool(
    Array.from({ length: 20 }, (_, i) => i),
    5,
    (i) => send("helper", chatBody(`Quick hint ${i}`, { model: "sim-small" })),
  );

  // Cost per request tracked: the per-agent totals are the sums of the per-request headers.
  const summary: CostSummary = await (await fetch(`${gw.url}/v1/costs?by=agent&window=1h`)).json();
  assert.equal(summary.source, "memory");
  const groups = new Map(summary.groups.map((g) => [g.key, g]));
  for (const [agent, requests] of [["summarizer", 25], ["researcher", 20], ["helper", 20]] as const) {
    const g = groups.get(agent)!;
    assert.equal(g.requests, requests, agent);
    assert.ok(Math.abs(g.cost_usd - headerCost.get(agent)!) < requests * 1e-8, `${agent}: ${g.cost_usd}`);
    assert.ok(Math.abs(g.avg_cost_per_request_usd - g.cost_usd / requests) < 1e-15);
    assert.ok(g.input_tokens > 0 && g.output_tokens > 0);
  }
  assert.equal(summary.totals.requests, 65);
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(metrics, /amas_cost_usd_total\{agent="summarizer",model="sim-large",tenant="local"\} [\d.e-]+/);
  assert.match(metrics, /amas_tokens_total\{direction="input",model="sim-large"\} \d+/);

  // Recommendations generated: the short-prompt agent on the expensive model, not the long-context one.
  const res = await (await fetch(`${gw.url}/v1/costs/recommendations?window=1h`)).json();
  const recs: Recommendation[] = res.recommendations;
  const ids = recs.map((r) => r.id);
  const downgrade = recs.find((r) => r.id === "model-downgrade:local/summarizer:sim-large");
  assert.ok(downgrade, `downgrade advised: ${ids}`);
  assert.ok(!ids.includes("model-downgrade:local/researcher:sim-large"), "long prompts are not short traffic");
  assert.ok(!ids.some((id) => id.startsWith("model-downgrade:local/helper")), "sim-small has nothing cheaper");
  const s = groups.get("summarizer")!;
  const e = downgrade.evidence as Record<string, number>;
  assert.equal(e.observed_cost_usd, s.cost_usd);
  assert.equal(e.upstream_requests, 25);
  const onSmall = (s.input_tokens * 0.15 + s.output_tokens * 0.6) / 1e6;
  const expected = (s.cost_usd - onSmall) * 30 * 86_400 / e.observed_seconds;
  assert.ok(
    Math.abs(downgrade.estimated_monthly_saving_usd - expected) <= 1e-6,
    `${downgrade.estimated_monthly_saving_usd} vs ${expected}`,
  );
  for (const r of recs) {
    assert.ok(r.title && r.detail && r.estimated_monthly_saving_usd > 0 && r.evidence, `${r.id} is complete`);
  }
  assert.ok(res.observed_seconds > 0 && res.observed_seconds < 600);

  // deno task costs against the running gateway, then record → replay offline gives the same advice.
  const live = await costsCli(["--url", gw.url, "--window", "1h"]);
  assert.equal(live.code, 0, live.err);
  assert.match(live.out, /model-downgrade:local\/summarizer:sim-large/);
  assert.match(live.out, /total estimated monthly saving/);
  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const recorded = await costsCli(["--url", gw.url, "--window", "1h", "--record", file]);
    assert.equal(recorded.code, 0, recorded.err);
    const replay = await costsCli(["--profile", file, "--json"]);
    assert.equal(replay.code, 0, replay.err);
    const replayed: Recommendation[] = JSON.parse(replay.out);
    const replayedDowngrade = replayed.find((r) => r.id === downgrade.id)!;
    assert.ok(replayedDowngrade, `replayed: ${replayed.map((r) => r.id)}`);
    assert.equal(replayedDowngrade.evidence.observed_cost_usd, s.cost_usd);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("recommendations wait for a meaningful observation span by default", async () => {
  await using gw = await startGateway({ overrides: { cache: { enabled: false } } });
  const res = await postJson(`${gw.url}/v1/chat/completions`, chatBody("hi", { model: "sim-large" }));
  await res.body?.cancel();
  const body = await (await fetch(`${gw.url}/v1/costs/recommendations`)).json();
  assert.deepEqual(body.recommendations, []);
  assert.match(body.notes[0], /minObservedSeconds \(300 s\)/);
});
