/**
 * Job metrics: the backlog KEDA scales the workers on, and what the workers did.
 *
 * - `amas_jobs_backlog{stream,pool}`: unfinished jobs (waiting + running): `lag` + `pending` of the consumer group
 * - `amas_jobs_pending{stream,pool}`: delivered to a worker, not yet finished
 * - `amas_jobs_lag{stream,pool}`: not yet delivered to any worker
 * - `amas_jobs_enqueued_total{pool}`, `amas_jobs_processed_total{pool,outcome}` (succeeded, failed, duplicate,
 *   abandoned), `amas_jobs_reclaimed_total{pool}`, `amas_job_duration_seconds{pool,outcome}`
 *
 * @module
 */
import type { Counter, Histogram } from "@opentelemetry/api";
import { LATENCY_BUCKETS_SECONDS, type Telemetry } from "../telemetry/telemetry.ts";
import type { StreamBacklog } from "./types.ts";

/** Instruments of the job queue and workers. */
export class JobMetrics {
  readonly enqueued: Counter;
  readonly processed: Counter;
  readonly reclaimed: Counter;
  readonly duration: Histogram;

  constructor(telemetry: Telemetry, backlog?: () => Promise<StreamBacklog[]>) {
    const m = telemetry.meter;
    this.enqueued = m.createCounter("amas_jobs_enqueued", { description: "jobs accepted by POST /v1/jobs, by pool" });
    this.processed = m.createCounter("amas_jobs_processed", {
      description: "jobs a worker finished, by pool and outcome (succeeded, failed, duplicate, abandoned)",
    });
    this.reclaimed = m.createCounter("amas_jobs_reclaimed", {
      description: "jobs taken over from a worker that stopped answering (XAUTOCLAIM), by pool",
    });
    this.duration = m.createHistogram("amas_job_duration_seconds", {
      description: "time a worker spent running a job, seconds",
      unit: "s",
      advice: { explicitBucketBoundaries: LATENCY_BUCKETS_SECONDS },
    });
    if (!backlog) return;
    const backlogGauge = m.createObservableGauge("amas_jobs_backlog", {
      description: "unfinished jobs: waiting plus running (what the worker ScaledObjects scale on)",
    });
    const pending = m.createObservableGauge("amas_jobs_pending", {
      description: "jobs delivered to a worker and not finished",
    });
    const lag = m.createObservableGauge("amas_jobs_lag", { description: "jobs not yet delivered to any worker" });
    m.addBatchObservableCallback(async (r) => {
      let rows: StreamBacklog[];
      try {
        rows = await withTimeout(backlog(), 2000);
      } catch {
        // An unreachable Redis leaves the series absent for this scrape rather than reporting a false zero.
        return;
      }
      for (const row of rows) {
        const attrs = { stream: row.stream, pool: row.pool };
        r.observe(backlogGauge, row.backlog, attrs);
        r.observe(pending, row.pending, attrs);
        r.observe(lag, row.lag, attrs);
      }
    }, [backlogGauge, pending, lag]);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => timer = setTimeout(() => reject(new Error("timed out")), ms)),
  ]);
}
