/**
 * `load run` as a user runs it, in a subprocess: a met SLO exits 0 (against the embedded gateway it starts and
 * stops itself, with the load-test metrics exported on --metrics-port while it runs), an impossible SLO exits 1
 * (against an external --target), a usage error exits 2. Reports are written as JSON and self-contained HTML.
 */
import assert from "node:assert/strict";
import { startGateway } from "../support/gateway.ts";

const ROOT = new URL("../../", import.meta.url);
const CLI = new URL("src/loadtest/cli.ts", ROOT).pathname;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function spawnCli(args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
}

async function reports(dir: string): Promise<{ json: Record<string, unknown>; html: string }> {
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  const json = files.find((f) => f.endsWith(".json"));
  const html = files.find((f) => f.endsWith(".html"));
  assert.ok(json && html, `reports in ${dir}: ${files}`);
  return {
    json: JSON.parse(await Deno.readTextFile(`${dir}/${json}`)),
    html: await Deno.readTextFile(`${dir}/${html}`),
  };
}

Deno.test({
  name: "load run: a met SLO exits 0, an impossible SLO exits 1, a baseline is compared, usage errors exit 2",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const outMet = await Deno.makeTempDir({ prefix: "amas-load-met-" });
    const outBad = await Deno.makeTempDir({ prefix: "amas-load-bad-" });
    await using external = await startGateway();
    const metricsPort = freePort();
    try {
      const met = spawnCli([
        "run",
        "research_agent_baseline",
        "--duration",
        "4",
        "--rate",
        "10",
        "--out",
        outMet,
        "--metrics-port",
        String(metricsPort),
        // Generous on purpose: this run checks the exit code of a met SLO on a busy machine.
        ...["p50Ms=10000", "p95Ms=20000", "p99Ms=30000", "ttftP95Ms=20000", "maxErrorRate=0.05", "minRps=1"].flatMap((
          s,
        ) => ["--slo", s]),
      ]);
      const bad = spawnCli([
        "run",
        "research_agent_baseline",
        "--target",
        external.url,
        "--duration",
        "3",
        "--rate",
        "10",
        "--out",
        outBad,
        "--slo",
        "p99Ms=0.001",
      ]);
      // While the met run is going, its metrics endpoint serves the seed's load-test metrics.
      let scraped = "";
      for (let i = 0; i < 120 && !scraped.includes("amas_load_test_requests_total"); i++) {
        await new Promise((r) => setTimeout(r, 250));
        scraped = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text()).catch(() => "");
      }
      const [metOut, badOut] = await Promise.all([met.output(), bad.output()]);
      const metText = new TextDecoder().decode(metOut.stdout) + new TextDecoder().decode(metOut.stderr);
      const badText = new TextDecoder().decode(badOut.stdout) + new TextDecoder().decode(badOut.stderr);
      assert.equal(metOut.code, 0, metText);
      assert.equal(badOut.code, 1, badText);
      assert.match(scraped, /amas_load_test_requests_total\{[^}]*scenario="research_agent_baseline"/);
      assert.match(scraped, /amas_load_test_request_duration_seconds_bucket/);
      assert.match(metText, /verdict: PASS/);
      assert.match(badText, /FAIL\s+p99 latency \(ms\) ≤ 0\.001/);

      // The embedded gateway was stopped when the run ended.
      const embedded = /embedded gateway at (\S+)/.exec(metText)![1];
      await assert.rejects(fetch(`${embedded}/healthz`).then((r) => r.body?.cancel()));

      const good = await reports(outMet);
      assert.equal((good.json.slo as { passed: boolean }).passed, true);
      assert.equal(good.json.targetKind, "embedded");
      assert.ok((good.json.totals as { requests: number }).requests >= 20);
      // Self-contained: charts are inline SVG, nothing is loaded from elsewhere.
      assert.ok(good.html.includes("<svg"));
      assert.doesNotMatch(good.html, /<script|<link|<img|\ssrc=|\shref=|@import|url\(/);
      const failed = await reports(outBad);
      assert.equal(failed.json.passed, false);
      assert.equal(failed.json.targetKind, "external");

      // The failed run's JSON is a valid baseline: the comparison is made, per metric, and reported.
      const badJson = [...Deno.readDirSync(outBad)].find((e) => e.name.endsWith(".json"))!.name;
      const compared = await spawnCli([
        "run",
        "research_agent_baseline",
        "--target",
        external.url,
        "--duration",
        "3",
        "--rate",
        "10",
        "--out",
        outBad,
        "--baseline",
        `${outBad}/${badJson}`,
        "--quiet",
      ]).output();
      const comparedText = new TextDecoder().decode(compared.stdout);
      assert.ok(compared.code === 0 || compared.code === 1, comparedText);
      assert.match(
        comparedText,
        /baseline (PASS|REGRESSION) \(vs .*Mann-Whitney one-sided alpha 0\.05, tolerance 10%\)/,
      );
      assert.match(comparedText, /latency_p50_ms +[\d.]+ → [\d.]+ \(×[\d.]+, p=[\d.e-]+, windows \d+\/\d+\)/);

      for (
        const [args, message] of [
          [["run", "no_such_scenario"], /unknown scenario "no_such_scenario"/],
          [["run", "soak", "--slo", "p42=1"], /--slo: unknown threshold "p42"/],
          [["run", "soak", "--baseline", CLI], /is not JSON: pass a result file written by 'load run'/],
          [["run", "spike_100_users", "--rate", "5"], /--rate applies to open-model scenarios; use --vus/],
          [["run", "soak", "--target", "https://example.com"], /--target must be an http:\/\/ URL/],
        ] as const
      ) {
        const usage = await spawnCli([...args]).output();
        assert.equal(usage.code, 2, args.join(" "));
        assert.match(new TextDecoder().decode(usage.stderr), message);
      }
    } finally {
      await Deno.remove(outMet, { recursive: true });
      await Deno.remove(outBad, { recursive: true });
    }
  },
});

Deno.test("load list names every built-in scenario", async () => {
  const out = await spawnCli(["list"]).output();
  assert.equal(out.code, 0);
  const text = new TextDecoder().decode(out.stdout);
  for (const name of ["research_agent_baseline", "cache_heavy", "spike_100_users", "breaker_drill", "soak"]) {
    assert.ok(text.includes(name), name);
  }
});
