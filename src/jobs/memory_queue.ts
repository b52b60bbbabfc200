/**
 * The embedded job queue (no `REDIS_URL`): jobs live in this process, a few in-process workers per pool run them
 * through the same `JobRunner` as `deno task worker`. A restart loses queued jobs, which is the embedded
 * trade-off; with Redis nothing is lost.
 *
 * @module
 */
import { OverloadedError } from "../errors.ts";
import { allStreams, type JobsConfig } from "./config.ts";
import type { JobMetrics } from "./metrics.ts";
import type { JobRunner } from "./runner.ts";
import { type JobQueue, type JobRecord, type NewJob, newJobId, type StreamBacklog } from "./types.ts";

interface Pool {
  stream: string;
  waiting: string[];
  running: number;
  /** Wakes one idle worker. */
  wake: (() => void)[];
}

/** In-process queue and workers. */
export class MemoryJobQueue implements JobQueue {
  #config: JobsConfig;
  #runner: JobRunner;
  #metrics?: JobMetrics;
  #jobs = new Map<string, { job: JobRecord; expiresAt: number }>();
  #pools = new Map<string, Pool>();
  #closed = new AbortController();
  #workers: Promise<void>[] = [];
  #sweeper: ReturnType<typeof setInterval>;

  constructor(config: JobsConfig, runner: JobRunner) {
    this.#config = config;
    this.#runner = runner;
    for (const { pool, stream } of allStreams(config)) {
      const p: Pool = { stream, waiting: [], running: 0, wake: [] };
      this.#pools.set(pool, p);
      for (let i = 0; i < config.embeddedWorkers; i++) this.#workers.push(this.#work(pool, p));
    }
    this.#sweeper = setInterval(() => this.#sweep(), 60_000);
    Deno.unrefTimer(this.#sweeper);
  }

  /** Metrics to record on (set after construction: the metrics read this queue's backlog). */
  set metrics(metrics: JobMetrics) {
    this.#metrics = metrics;
  }

  enqueue(input: NewJob): Promise<JobRecord> {
    const pool = this.#pools.get(input.pool);
    if (!pool) throw new Error(`unknown pool ${input.pool}`);
    if (pool.waiting.length + pool.running >= this.#config.maxQueued) {
      throw new OverloadedError(`the job queue of pool ${input.pool} is full; retry later`, { retryAfterSeconds: 5 });
    }
    const job: JobRecord = { ...input, id: newJobId(), status: "queued", createdAt: Date.now(), attempts: 0 };
    this.#jobs.set(job.id, { job, expiresAt: Date.now() + this.#config.resultTtlSeconds * 1000 });
    pool.waiting.push(job.id);
    pool.wake.shift()?.();
    this.#metrics?.enqueued.add(1, { pool: input.pool });
    return Promise.resolve(structuredClone(job));
  }

  get(id: string): Promise<JobRecord | undefined> {
    const entry = this.#jobs.get(id);
    // The TTL is the result's: a job still waiting or running is always visible.
    const unfinished = entry?.job.status === "queued" || entry?.job.status === "running";
    if (!entry || (!unfinished && entry.expiresAt <= Date.now())) return Promise.resolve(undefined);
    return Promise.resolve(structuredClone(entry.job));
  }

  backlog(): Promise<StreamBacklog[]> {
    return Promise.resolve([...this.#pools].map(([pool, p]) => ({
      pool,
      stream: p.stream,
      backlog: p.waiting.length + p.running,
      pending: p.running,
      lag: p.waiting.length,
    })));
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#closed.abort(new DOMException("the job queue is closing", "AbortError"));
    for (const p of this.#pools.values()) for (const wake of p.wake.splice(0)) wake();
    await Promise.allSettled(this.#workers);
  }

  async #work(name: string, pool: Pool): Promise<void> {
    const signal = this.#closed.signal;
    while (!signal.aborted) {
      const id = pool.waiting.shift();
      if (id === undefined) {
        await new Promise<void>((resolve) => pool.wake.push(resolve));
        continue;
      }
      const entry = this.#jobs.get(id);
      if (!entry) continue;
      const job = entry.job;
      job.status = "running";
      job.startedAt = Date.now();
      job.attempts++;
      pool.running++;
      const outcome = await this.#runner.run(job, signal);
      pool.running--;
      job.finishedAt = Date.now();
      job.worker = "embedded";
      if (outcome.ok) {
        job.status = "succeeded";
        job.result = outcome.result;
      } else {
        job.status = "failed";
        job.error = outcome.error;
      }
      entry.expiresAt = Date.now() + this.#config.resultTtlSeconds * 1000;
      const labels = { pool: name, outcome: job.status };
      this.#metrics?.processed.add(1, labels);
      this.#metrics?.duration.record((job.finishedAt - job.startedAt) / 1000, labels);
    }
  }

  #sweep(): void {
    const now = Date.now();
    for (const [id, entry] of this.#jobs) {
      if (entry.expiresAt <= now && entry.job.status !== "queued" && entry.job.status !== "running") {
        this.#jobs.delete(id);
      }
    }
  }
}
