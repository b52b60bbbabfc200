import assert from "node:assert/strict";
import { parseConfig } from "../../src/config.ts";
import { ProviderRegistry } from "../../src/providers/registry.ts";
import { readSimProfile } from "../../src/providers/sim_profile.ts";
import { calibrate, calibrationTargets, renderMarkdown } from "../../src/routing/calibration.ts";

const CONFIG = {
  providers: {
    deployments: {
      fast: { type: "sim", simProfile: { ttftMs: 40, jitterMs: 10, tokensPerSecond: 400, completionTokens: 16 } },
      slow: {
        type: "sim",
        simProfile: { ttftMs: 150, jitterMs: 20, tokensPerSecond: 100, completionTokens: 16, errorRate: 0.5 },
      },
    },
  },
  routing: { models: { "chat-c": { policy: "least-latency", deployments: ["fast", "slow"] } } },
};

const OPTIONS = { requests: 24, concurrency: 4, maxTokens: 64, timeoutMs: 10_000 };

Deno.test("calibration measures TTFT, tokens/s and error rate per deployment and suggests weights and targets", async () => {
  const config = parseConfig(CONFIG);
  const registry = new ProviderRegistry(config.providers);
  const report = await calibrate(
    calibrationTargets(registry, config.providers.deployments, config.routing),
    config.routing,
    OPTIONS,
  );
  const { fast, slow } = report.deployments;
  assert.equal(fast.requests, 24);
  assert.equal(fast.errors, 0);
  assert.equal(fast.upstreamModel, "chat-c");
  // The simulator waits ttft + uniform jitter before the first token; timers only ever fire late.
  assert.ok(fast.ttftMs!.p50 >= 40 && fast.ttftMs!.p50 < 40 + 10 + 60, JSON.stringify(fast.ttftMs));
  assert.ok(slow.ttftMs!.p50 >= 150 && slow.ttftMs!.p50 > 2 * fast.ttftMs!.p50, JSON.stringify(slow.ttftMs));
  assert.ok(fast.tokensPerSecond!.p50 > 1.5 * slow.tokensPerSecond!.p50);
  assert.ok(slow.errorRate > 0.15 && slow.errorRate < 0.85, `error rate ${slow.errorRate}`);
  assert.equal(slow.errorKinds.error, slow.errors);
  assert.equal(fast.suggestedWeight, 100);
  assert.ok(slow.suggestedWeight >= 1 && slow.suggestedWeight < 40, `weight ${slow.suggestedWeight}`);
  const target = report.suggestions.routing.models["chat-c"].latencyTargetMs!;
  assert.ok(target >= 1.5 * fast.totalMs!.p90 && target < 1.5 * fast.totalMs!.p90 + 10);
  const streamTarget = report.suggestions.routing.models["chat-c"].streamLatencyTargetMs!;
  assert.ok(streamTarget >= 1.5 * fast.ttftMs!.p90 && streamTarget < 1.5 * fast.ttftMs!.p90 + 10);
  assert.equal(fast.simProfile!.completionTokens, 16);
  assert.ok(Math.abs(slow.simProfile!.errorRate - slow.errorRate) < 1e-9);

  const md = renderMarkdown(report);
  assert.match(md, /\| fast \| sim \| chat-c \| 24\/24 \| 0\.0% \|/);
  assert.match(md, /"latencyTargetMs": \d+/);
  await registry.close();
});

Deno.test("a calibrated deployment replays in simulation from the same results file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "amas_calibration_" });
  try {
    const config = parseConfig(CONFIG);
    const registry = new ProviderRegistry(config.providers);
    const first = await calibrate(
      calibrationTargets(registry, config.providers.deployments, config.routing),
      config.routing,
      { ...OPTIONS, only: ["slow"] },
    );
    await registry.close();
    const file = `${dir}/measured.json`;
    await Deno.writeTextFile(file, JSON.stringify(first));

    const replay = parseConfig({
      providers: { deployments: { "slow-replay": { type: "sim", simProfile: `${file}#slow`, model: "m" } } },
    });
    const replayRegistry = new ProviderRegistry(replay.providers);
    const second = await calibrate(
      calibrationTargets(replayRegistry, replay.providers.deployments, replay.routing),
      replay.routing,
      OPTIONS,
    );
    await replayRegistry.close();
    const a = first.deployments.slow;
    const b = second.deployments["slow-replay"];
    const ratio = b.ttftMs!.p50 / a.ttftMs!.p50;
    assert.ok(ratio > 0.75 && ratio < 1.3, `replayed TTFT p50 ${b.ttftMs!.p50} vs measured ${a.ttftMs!.p50}`);
    assert.ok(b.errorRate > 0.05 && b.errorRate < 0.95, `replayed error rate ${b.errorRate} vs ${a.errorRate}`);

    assert.throws(() => readSimProfile(`${file}#nope`, "x"), /has no simProfile for deployment "nope".*slow/);
    assert.throws(() => readSimProfile(`${dir}/missing.json`, "x"), /cannot read calibration file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task calibrate writes the JSON results and the markdown summary; bad flags exit 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "amas_calibrate_cli_" });
  try {
    const configFile = `${dir}/config.json`;
    await Deno.writeTextFile(configFile, JSON.stringify(CONFIG));
    const run = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net",
          "--allow-env",
          "--allow-read",
          "--allow-write",
          "src/routing/calibrate.ts",
          ...args,
        ],
        cwd: new URL("../../", import.meta.url),
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
    const out = `${dir}/results/cal.json`;
    const ok = await run(["--config", configFile, "--requests", "4", "--concurrency", "2", "--out", out]);
    const stderr = new TextDecoder().decode(ok.stderr);
    assert.equal(ok.code, 0, stderr);
    const report = JSON.parse(await Deno.readTextFile(out));
    assert.deepEqual(Object.keys(report.deployments).sort(), ["fast", "slow"]);
    assert.equal(report.deployments.fast.requests, 4);
    const md = await Deno.readTextFile(`${dir}/results/cal.md`);
    assert.match(md, /^# Calibration /);
    assert.match(new TextDecoder().decode(ok.stdout), /\| deployment \| type \|/);

    const bad = await run(["--requests", "0"]);
    assert.equal(bad.code, 2);
    assert.match(new TextDecoder().decode(bad.stderr), /--requests must be a whole number from 1 to 1000/);
    const unknown = await run(["--config", configFile, "--requests", "1", "--deployment", "ghost", "--out", out]);
    assert.equal(unknown.code, 1);
    assert.match(new TextDecoder().decode(unknown.stderr), /no deployment named ghost; known: fast, slow/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
