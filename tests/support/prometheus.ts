/**
 * Test support: a real Prometheus server (the Debian `prometheus` binary) of the test's own, on a free loopback
 * port, with a temporary TSDB and a config that scrapes the given targets every second. It never touches a
 * system Prometheus that may be running on :9090.
 *
 * ```ts
 * await using prom = await TestPrometheus.start({ targets: [new URL(gw.url).host] });
 * await prom.waitForSeries("amas_http_requests_total");
 * const rps = await prom.scalar('sum(rate(amas_http_requests_total[30s])) or vector(0)');
 * ```
 *
 * @module
 */
import { freePort } from "./redis.ts";

/** One element of an instant vector. */
export interface PromSample {
  metric: Record<string, string>;
  /** The sample value; may be NaN or ±Inf (Prometheus sends them as strings). */
  value: number;
}

/** The result of an instant query. */
export type PromResult =
  | { resultType: "vector"; samples: PromSample[] }
  | { resultType: "scalar"; samples: PromSample[] }
  | { resultType: "matrix"; samples: PromSample[] }
  | { resultType: "string"; samples: PromSample[] };

/** One scrape job. */
export interface ScrapeJob {
  job: string;
  /** `host:port` targets. */
  targets: string[];
  /** Path scraped on every target; default `/metrics`. */
  metricsPath?: string;
  /** Extra labels attached to every target of the job. */
  labels?: Record<string, string>;
}

/** Options for {@linkcode TestPrometheus.start}. */
export interface TestPrometheusOptions {
  /** `host:port` scrape targets of the main job (`job`, `metricsPath`, `labels`). */
  targets?: string[];
  /** Further scrape jobs (e.g. a load generator's exporter beside the gateway). */
  jobs?: ScrapeJob[];
  /** Path scraped on every target; default `/metrics`. */
  metricsPath?: string;
  /** Scrape and evaluation interval; default `1s`. */
  interval?: string;
  /** Job label; default `amas`. */
  job?: string;
  /** Extra labels attached to every target (e.g. `{ namespace: "amas-prod" }`). */
  labels?: Record<string, string>;
  /** Rule files (YAML, Prometheus rule-file format) to load; contents, not paths. */
  ruleFiles?: string[];
  /**
   * OpenMetrics texts (with timestamps) loaded into the TSDB before start with `promtool tsdb create-blocks-from
   * openmetrics`, e.g. the scaling simulator's `--openmetrics` output.
   */
  backfill?: string[];
  /** How long to wait for readiness; default 30 s. */
  readyTimeoutMs?: number;
}

/** A Prometheus child process. */
export class TestPrometheus {
  readonly port: number;
  readonly dir: string;
  #child: Deno.ChildProcess;
  #exited: Promise<Deno.CommandStatus>;
  #status?: Deno.CommandStatus;
  #log = "";

  private constructor(port: number, dir: string, child: Deno.ChildProcess) {
    this.port = port;
    this.dir = dir;
    this.#child = child;
    this.#exited = child.status.then((s) => this.#status = s);
    (async () => {
      const decoder = new TextDecoder();
      for await (const bytes of child.stderr) {
        // Keep the tail only: Prometheus is chatty and a long test must not grow memory without bound.
        this.#log = (this.#log + decoder.decode(bytes, { stream: true })).slice(-20_000);
      }
    })().catch(() => {});
  }

  /** Starts Prometheus scraping `options.targets` and waits until its `/-/ready` answers 200. */
  static async start(options: TestPrometheusOptions): Promise<TestPrometheus> {
    const port = freePort();
    const dir = await Deno.makeTempDir({ prefix: "amas-prom-" });
    const interval = options.interval ?? "1s";
    const ruleNames: string[] = [];
    for (const [i, text] of (options.ruleFiles ?? []).entries()) {
      const name = `${dir}/rules_${i}.yml`;
      await Deno.writeTextFile(name, text);
      ruleNames.push(name);
    }
    for (const [i, text] of (options.backfill ?? []).entries()) {
      const file = `${dir}/backfill_${i}.om`;
      await Deno.writeTextFile(file, text);
      const out = await new Deno.Command("promtool", {
        args: ["tsdb", "create-blocks-from", "openmetrics", file, `${dir}/data`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!out.success) {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
        throw new Error(`promtool could not load backfill ${i}: ${new TextDecoder().decode(out.stderr)}`);
      }
    }
    // JSON is valid YAML, so the config needs no YAML serializer.
    const config = {
      global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
      rule_files: ruleNames,
      scrape_configs: [
        ...(options.targets?.length
          ? [{
            job: options.job ?? "amas",
            targets: options.targets,
            metricsPath: options.metricsPath,
            labels: options.labels,
          }]
          : []),
        ...(options.jobs ?? []),
      ].map((j) => ({
        job_name: j.job,
        metrics_path: j.metricsPath ?? "/metrics",
        static_configs: [{ targets: j.targets, labels: j.labels ?? {} }],
      })),
    };
    await Deno.writeTextFile(`${dir}/prometheus.yml`, JSON.stringify(config, null, 2));
    const child = new Deno.Command("prometheus", {
      args: [
        `--config.file=${dir}/prometheus.yml`,
        `--storage.tsdb.path=${dir}/data`,
        `--web.listen-address=127.0.0.1:${port}`,
        // Lookback of 5 m is the default; keep it so queries behave as in a cluster.
        "--storage.tsdb.retention.time=1h",
        "--web.enable-lifecycle",
        "--log.level=warn",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const prom = new TestPrometheus(port, dir, child);
    const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
    while (Date.now() < deadline) {
      if (prom.#status) break;
      try {
        const res = await fetch(`${prom.url}/-/ready`);
        await res.body?.cancel();
        if (res.ok) return prom;
      } catch { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    const log = prom.log();
    await prom.stop();
    throw new Error(`prometheus did not become ready on port ${port}; its log:\n${log}`);
  }

  /** `http://127.0.0.1:<port>` */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The tail of Prometheus's stderr, for failure messages. */
  log(): string {
    return this.#log;
  }

  /** Runs an instant query (`/api/v1/query`) and returns the samples; throws on a PromQL error. */
  async query(promql: string, time?: Date): Promise<PromResult> {
    const body = new URLSearchParams({ query: promql });
    if (time) body.set("time", String(time.getTime() / 1000));
    const res = await fetch(`${this.url}/api/v1/query`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    });
    const json = await res.json() as {
      status: string;
      error?: string;
      data?: { resultType: PromResult["resultType"]; result: unknown };
    };
    if (json.status !== "success" || !json.data) {
      throw new Error(`promql query failed (${res.status}): ${json.error ?? "no data"}\n  query: ${promql}`);
    }
    const { resultType, result } = json.data;
    const num = (v: string) => Number(v); // Number("NaN") is NaN, Number("+Inf") is Infinity.
    switch (resultType) {
      case "vector":
        return {
          resultType,
          samples: (result as { metric: Record<string, string>; value: [number, string] }[])
            .map((r) => ({ metric: r.metric, value: num(r.value[1]) })),
        };
      case "matrix":
        // A range-vector result: report each series' last value (tests rarely need more).
        return {
          resultType,
          samples: (result as { metric: Record<string, string>; values: [number, string][] }[])
            .map((r) => ({ metric: r.metric, value: num(r.values.at(-1)?.[1] ?? "NaN") })),
        };
      case "scalar":
      case "string": {
        const [, v] = result as [number, string];
        return { resultType, samples: [{ metric: {}, value: num(v) }] };
      }
    }
  }

  /**
   * Runs an instant query that must yield exactly one sample (a scalar or a one-element vector) and returns its
   * value. Throws when the result is empty or has several series: that is what KEDA would reject.
   */
  async scalar(promql: string, time?: Date): Promise<number> {
    const r = await this.query(promql, time);
    if (r.samples.length !== 1) {
      throw new Error(
        `expected one sample, got ${r.samples.length} (${r.resultType})\n  query: ${promql}\n  result: ${
          JSON.stringify(r.samples.slice(0, 5))
        }`,
      );
    }
    return r.samples[0].value;
  }

  /**
   * Waits until `promql` (a selector or any expression) returns at least `minSamples` samples, optionally each
   * satisfying `accept`; returns the last result. Use it to wait for the first scrapes of a metric.
   */
  async waitForSeries(
    promql: string,
    options: { timeoutMs?: number; minSamples?: number; accept?: (s: PromSample) => boolean } = {},
  ): Promise<PromSample[]> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    const min = options.minSamples ?? 1;
    let last: PromSample[] = [];
    while (true) {
      last = (await this.query(promql)).samples;
      const ok = last.filter((s) => options.accept ? options.accept(s) : true);
      if (ok.length >= min) return last;
      if (Date.now() > deadline) {
        throw new Error(
          `timed out waiting for ${min} sample(s) of ${promql}; last: ${JSON.stringify(last.slice(0, 5))}\n` +
            `targets: ${JSON.stringify(await this.targets().catch(() => []))}`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** The scrape targets with their health and last error (for failure messages). */
  async targets(): Promise<{ scrapeUrl: string; health: string; lastError: string }[]> {
    const res = await fetch(`${this.url}/api/v1/targets`);
    const json = await res.json() as {
      data: { activeTargets: { scrapeUrl: string; health: string; lastError: string }[] };
    };
    return json.data.activeTargets.map(({ scrapeUrl, health, lastError }) => ({ scrapeUrl, health, lastError }));
  }

  /** Waits until every target has been scraped successfully at least once. */
  async waitForTargetsUp(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const t = await this.targets();
      if (t.length > 0 && t.every((x) => x.health === "up")) return;
      if (Date.now() > deadline) throw new Error(`scrape targets not up: ${JSON.stringify(t)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** The loaded alerting/recording rules' health (`ok`, `err`, `unknown`) and errors. */
  async rules(): Promise<{ name: string; health: string; lastError?: string; query: string }[]> {
    const res = await fetch(`${this.url}/api/v1/rules`);
    const json = await res.json() as {
      data: { groups: { rules: { name: string; health: string; lastError?: string; query: string }[] }[] };
    };
    return json.data.groups.flatMap((g) =>
      g.rules.map(({ name, health, lastError, query }) => ({ name, health, lastError, query }))
    );
  }

  /** Stops Prometheus (SIGTERM, then SIGKILL after 10 s) and removes its temp dir. */
  async stop(): Promise<void> {
    if (!this.#status) {
      try {
        this.#child.kill("SIGTERM");
      } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try {
          this.#child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, 10_000);
      await this.#exited;
      clearTimeout(timer);
    }
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
