import assert from "node:assert/strict";
import { TestPrometheus } from "../support/prometheus.ts";
import { chatBody, postJson, startGateway } from "../support/gateway.ts";

Deno.test("prometheus support: scrapes an in-process gateway and answers instant queries", async () => {
  await using gw = await startGateway();
  await using prom = await TestPrometheus.start({ targets: [new URL(gw.url).host] });
  await prom.waitForTargetsUp();
  for (let i = 0; i < 5; i++) {
    const res = await postJson(`${gw.url}/v1/chat/completions`, chatBody(`hello ${i}`));
    await res.body?.cancel();
  }
  const samples = await prom.waitForSeries('amas_http_requests_total{route="/v1/chat/completions"}', {
    accept: (s) => s.value >= 5,
  });
  assert.ok(samples.length >= 1);
  const total = await prom.scalar('sum(amas_http_requests_total{route="/v1/chat/completions"})');
  assert.ok(total >= 5, `total ${total}`);
  // An absent metric is an empty vector, which scalar() refuses; `or vector(0)` turns it into one sample.
  await assert.rejects(() => prom.scalar("amas_no_such_metric"), /expected one sample, got 0/);
  assert.equal(await prom.scalar("sum(amas_no_such_metric) or vector(0)"), 0);
  // histogram_quantile over buckets that all rate 0 (no traffic) is NaN: the trap the manifests must guard against.
  // rate() needs two scrapes inside its window, so wait for the series rather than sleep.
  const [nanSample] = await prom.waitForSeries(
    "histogram_quantile(0.95, sum by (le) (rate(amas_http_request_duration_seconds_bucket[1m]) * 0))",
  );
  const nan = nanSample.value;
  assert.ok(Number.isNaN(nan), `got ${nan}`);
  await assert.rejects(() => prom.query("sum(("), /promql query failed/);
});
