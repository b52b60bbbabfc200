/**
 * End to end: a real Prometheus (Debian's binary) scrapes a real gateway (in-process, metrics on their own port as
 * in the Deployment, Redis-backed like a cluster install) and the load generator's exporter, while the test sends
 * chat traffic (JSON and streamed, cache hits and misses, upstream failures, load shedding). Then EVERY PromQL
 * expression of the prod overlay (KEDA triggers, PrometheusRule recording rules and alerts, Grafana dashboard
 * targets) is evaluated: each must return at least one sample, every value finite (no empty result, no NaN), and
 * the trigger values must match the traffic that was sent.
 *
 * Substitutions, as a cluster would do them: the scrape job is `amas-orchestrator` with `namespace="amas-prod"`
 * (what the ServiceMonitor produces); Grafana's `$namespace` becomes `amas-prod`, `$__rate_interval` `1m` (what
 * Grafana picks for a 15 s scrape interval) and `$__range` `3h` (the dashboards' default range); the scaling
 * metrics, which need a Kubernetes API, come from the scaling simulator's OpenMetrics output for a spike through
 * the prod ScaledObject, backfilled into the TSDB with promtool so that it ends now; the rule groups' 30 s interval
 * becomes 1 s so the recording rules exist within the test's time. An alert's expression is evaluated without its
 * final comparison (`X > 14.4` → `X`): the comparison legitimately filters everything when nothing is wrong.
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { TestPrometheus } from "../support/prometheus.ts";
import { TestRedis } from "../support/redis.ts";
import { chatBody, startGateway } from "../support/gateway.ts";
import { renderOverlay } from "../k8s/kustomize.ts";
import { extractPromql, find, type PromqlSource, substituteGrafana } from "../k8s/manifests.ts";
import { LoadMetrics } from "../../src/loadtest/load_metrics.ts";
import { scalerSpecs } from "../../src/scaling/scaler_spec.ts";
import { simulate } from "../../src/scaling/simulator.ts";
import { syntheticTimeline } from "../../src/scaling/timeline.ts";
import { toOpenMetrics } from "../../src/scaling/openmetrics.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const LOAD_SECONDS = 14;
const CONCURRENCY = 24;
const ADMIN = "admin-token-for-the-test";
const KEY = "tenant-key-for-the-test";

Deno.test({
  name:
    "prometheus e2e: every PromQL in ScaledObjects, PrometheusRules and dashboards returns finite values under load",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const objects = await renderOverlay("prod");
  const rule = find(objects, "PrometheusRule", "amas-slo") as Any;
  const groups = structuredClone(rule.spec.groups).map((g: Any) => ({ ...g, interval: "1s" }));
  const sources = extractPromql(objects);
  assert.ok(sources.length >= 40, `expected the manifests' queries, found ${sources.length}`);

  await using redis = await TestRedis.start();
  await using gw = await startGateway({
    env: {
      AMAS_METRICS_PORT: "0",
      REDIS_URL: redis.url,
      AMAS_API_KEYS: `acme=${KEY}`,
      AMAS_ADMIN_TOKEN: ADMIN,
    },
    // A small admission budget so the load both queues (queue-depth trigger) and sheds (503, shed counter).
    // A budget so the budget-utilization series exists (it reports configured budgets only), far above the spend.
    overrides: {
      resilience: { admission: { maxInFlight: 6, maxQueue: 12, maxQueueWaitMs: 1500 } },
      cost: { budgets: { tenants: { acme: { daily: { soft: 1000 } } } } },
    },
  });
  const load = LoadMetrics.start(0, "promql-e2e");
  try {
    // Upstream slow enough to queue behind 6 slots, failing 5 % of calls (5xx ratio, upstream error series).
    const sim = await fetch(`${gw.url}/admin/sim`, {
      method: "PUT",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "sim-small", latency_ms: 120, jitter_ms: 40, error_rate: 0.05 }),
    });
    assert.equal(sim.status, 200, await sim.text());

    // The scaling metrics come from the Kubernetes API in a cluster; here from the scaling simulator replaying a
    // spike through the prod overlay's ScaledObject, ending now, loaded into the TSDB (the offline path).
    const spec = scalerSpecs(objects as Any).find((s) => s.name === "amas-orchestrator-scaler")!;
    const spike = simulate(spec, syntheticTimeline("spike", spec));
    const simSeconds = spike.points.at(-1)!.t;
    const simulated = toOpenMetrics(spike, {
      start: new Date(Date.now() - simSeconds * 1000 - 5000),
      namespace: "amas-prod",
    });

    await using prom = await TestPrometheus.start({
      backfill: [simulated],
      jobs: [
        { job: "amas-orchestrator", targets: [new URL(gw.metricsUrl!).host], labels: { namespace: "amas-prod" } },
        { job: "amas-loadtest", targets: [new URL(load.url).host] },
      ],
      ruleFiles: [stringify({ groups })],
    });
    await prom.waitForTargetsUp();

    // Idle (no chat request yet): every KEDA query still yields exactly one sample, 0 (the `or vector(0)` guard).
    const triggers = sources.filter((x) => x.kind === "trigger");
    assert.equal(triggers.length, 3);
    for (const t of triggers) assert.equal(await prom.scalar(t.expr), 0, `${t.where} idle`);

    // Load: closed model, CONCURRENCY virtual users; 1 in 5 requests streams; 1 in 4 repeats a prompt (cache hit).
    const sent: { t: number; status: number }[] = [];
    const stopAt = Date.now() + LOAD_SECONDS * 1000;
    let n = 0;
    const user = async () => {
      while (Date.now() < stopAt) {
        const i = n++;
        const stream = i % 5 === 0;
        const prompt = i % 4 === 0 ? `repeated question ${i % 3}` : `question number ${i} about scaling`;
        const t0 = performance.now();
        let status = 0;
        let cache: string | undefined;
        try {
          const res = await fetch(`${gw.url}/v1/chat/completions`, {
            method: "POST",
            headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json", "x-amas-agent": "e2e" },
            body: JSON.stringify(chatBody(prompt, { stream })),
          });
          status = res.status;
          cache = res.headers.get("x-amas-cache") ?? undefined;
          await res.arrayBuffer();
        } catch { /* counted as status 0 */ }
        const latencyMs = performance.now() - t0;
        sent.push({ t: Date.now(), status });
        // A shed request comes back at once; a client pausing before its next call keeps the mix realistic.
        if (status === 503) await new Promise((r) => setTimeout(r, 200));
        load.record({ endMs: Date.now(), latencyMs, serviceMs: latencyMs, status, cache, agent: "e2e", stream } as Any);
      }
    };
    const users = Array.from({ length: CONCURRENCY }, user);

    // Evaluate while the load still runs (the queue gauge is instantaneous), after enough scrapes for rate().
    await new Promise((r) => setTimeout(r, (LOAD_SECONDS - 4) * 1000));
    await prom.waitForSeries("amas:slo_burn_rate:fast");
    await prom.waitForSeries("amas:http_request_duration_seconds:p95_rate5m");

    const failures: string[] = [];
    const values = new Map<string, number[]>();
    const evaluate = async (s: PromqlSource) => {
      const raw = s.kind === "alert" ? s.value! : s.expr;
      const expr = s.kind === "dashboard"
        ? substituteGrafana(raw, { namespace: "amas-prod", rateInterval: "1m", range: "3h" })
        : raw;
      try {
        const r = await prom.query(expr);
        const vs = r.samples.map((x) => x.value);
        values.set(s.where, vs);
        if (vs.length === 0) failures.push(`${s.where}: empty result\n    ${expr}`);
        else if (!vs.every(Number.isFinite)) failures.push(`${s.where}: non-finite ${vs}\n    ${expr}`);
        if (s.kind === "trigger" && vs.length !== 1) {
          failures.push(`${s.where}: KEDA needs one sample, got ${vs.length}`);
        }
      } catch (err) {
        failures.push(`${s.where}: ${(err as Error).message}`);
      }
    };
    const t = Date.now();
    for (const s of sources) await evaluate(s);
    const tookMs = Date.now() - t;
    await Promise.all(users);

    // Quiet after traffic: the latency buckets exist but no longer grow, so histogram_quantile is NaN, which the
    // trigger's `>= 0` guard turns into 0. A 3 s window stands in for the 2 m one (same shape, shorter wait).
    // Polled: under load a scrape may come late, and the window must hold only samples taken after the last request.
    const latency = triggers.find((x) => x.where.endsWith("p95-latency"))!.expr.replace("[2m]", "[3s]");
    const inner = /^sum\((histogram_quantile\(.*\)) >= 0\) or vector\(0\)$/.exec(latency)![1];
    const quiet = await prom.waitForSeries(inner, { timeoutMs: 30_000, accept: (x) => Number.isNaN(x.value) });
    assert.equal(quiet.length, 1, "unguarded: one NaN sample when the buckets stop growing");
    assert.equal(await prom.scalar(latency), 0, "guarded: one sample, 0");

    // Magnitudes of the triggers against what was sent: /v1 requests in the last minute / 60 s.
    const lastMinute = sent.filter((x) => x.t >= t - 60_000 && x.t <= t).length / 60;
    const rps = values.get("ScaledObject/amas-orchestrator-scaler trigger http-rps")?.[0] ?? NaN;
    const queue = values.get("ScaledObject/amas-orchestrator-scaler trigger queue-depth")?.[0] ?? NaN;
    const p95 = values.get("ScaledObject/amas-orchestrator-scaler trigger p95-latency")?.[0] ?? NaN;
    console.log(
      `e2e: ${sent.length} requests in ${LOAD_SECONDS} s (${sent.filter((x) => x.status === 503).length} shed, ${
        sent.filter((x) => x.status >= 500 && x.status !== 503).length
      } other 5xx); ` +
        `${sources.length} queries in ${tookMs} ms; triggers: rps ${rps.toFixed(2)} (sent ${
          lastMinute.toFixed(2)
        }/s over 1m), queue ${queue}, p95 ${p95.toFixed(3)} s`,
    );
    assert.deepEqual(failures, [], `${failures.length} of ${sources.length} queries failed:\n${failures.join("\n")}`);
    // rate()[1m] sees the last minute through Prometheus's extrapolation and scrape timing: a factor of two.
    assert.ok(rps > lastMinute * 0.5 && rps < lastMinute * 2, `rps trigger ${rps} vs sent ${lastMinute}`);
    assert.ok(queue >= 0 && queue <= 12, `queue depth ${queue} within the admission queue bound`);
    // The sim answers in 120-160 ms plus queueing; P95 must be positive and well under the 30 s buckets' top.
    assert.ok(p95 > 0.05 && p95 < 10, `p95 ${p95}`);
    const errRatio = values.get("rule amas:http_errors:ratio_rate5m")![0];
    assert.ok(errRatio > 0 && errRatio < 1, `5xx ratio ${errRatio}: sim errors and shedding make it positive`);

    // Every rule Prometheus loaded is healthy (evaluated without error).
    const unhealthy = (await prom.rules()).filter((r) => r.health !== "ok");
    assert.deepEqual(unhealthy, []);
  } finally {
    await load.stop();
  }
});
