/**
 * `deno task scale record` against a real Prometheus (integration): it samples the prod ScaledObject's trigger
 * queries into a timeline the simulator reads, and refuses a query that returns several series, as KEDA would.
 */
import assert from "node:assert/strict";
import { chatBody, postJson, startGateway } from "../support/gateway.ts";
import { TestPrometheus } from "../support/prometheus.ts";
import { readTimeline } from "../../src/scaling/timeline.ts";
import { queryRange } from "../../src/scaling/record.ts";

const ROOT = new URL("../../", import.meta.url);

function task(args: string[]): Promise<Deno.CommandOutput> {
  return new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "scale", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
}

Deno.test({
  name: "record (Prometheus): the CLI writes a timeline of the trigger queries; several series are refused",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  await using gw = await startGateway({ env: { AMAS_CACHE_ENABLED: "false" } });
  await using prom = await TestPrometheus.start({
    targets: [new URL(gw.url).host],
    job: "amas-orchestrator",
    labels: { namespace: "amas-prod" },
  });
  await prom.waitForTargetsUp();
  for (let i = 0; i < 20; i++) {
    const res = await postJson(`${gw.url}/v1/chat/completions`, chatBody(`question ${i}`));
    await res.body?.cancel();
  }
  await prom.waitForSeries('amas_http_requests_total{route="/v1/chat/completions"}');
  await new Promise((r) => setTimeout(r, 2000));
  const dir = await Deno.makeTempDir();
  try {
    const out = await task([
      "record",
      "--prometheus",
      prom.url,
      "--duration",
      "5s",
      "--step",
      "1s",
      "--out",
      `${dir}/t.json`,
    ]);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(new TextDecoder().decode(out.stdout), /recorded \d+ samples of http-rps, queue-depth, p95-latency/);
    const timeline = await readTimeline(`${dir}/t.json`);
    assert.equal(timeline.source, "recorded");
    assert.ok(timeline.samples.length >= 5 && timeline.samples.length <= 6, String(timeline.samples.length));
    for (const s of timeline.samples) {
      for (const name of ["http-rps", "queue-depth", "p95-latency"]) {
        assert.ok(Number.isFinite(s.values[name]), `${name} at ${s.t}: ${s.values[name]}`);
      }
    }
    assert.ok(timeline.samples.some((s) => (s.values["http-rps"] ?? 0) > 0), "the requests show in the rate");

    // The recorded file replays.
    const sim = await task(["simulate", "--timeline", `${dir}/t.json`, "--rows", "3"]);
    assert.equal(sim.code, 0, new TextDecoder().decode(sim.stderr));
    assert.match(new TextDecoder().decode(sim.stdout), /timeline .* \(recorded\)/);

    const now = new Date();
    await assert.rejects(
      queryRange(prom.url, "amas_http_requests_total", {
        start: new Date(now.getTime() - 5000),
        end: now,
        stepSeconds: 1,
      }),
      /returns \d+ series; KEDA needs one \(wrap it in sum/,
    );
    const missing = await task(["record", "--duration", "5s", "--out", `${dir}/x.json`]);
    assert.equal(missing.code, 1);
    assert.match(new TextDecoder().decode(missing.stderr), /record needs --prometheus URL/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
