/**
 * A job worker on the Redis Stream: reads new entries of its pools' streams through the consumer group, reclaims
 * entries whose worker stopped answering (`XAUTOCLAIM` after `claimIdleMs` idle), runs each job through the
 * gateway's chat path (`JobRunner`), and stores the outcome, acknowledges and deletes the entry in one script.
 *
 * Why nothing is lost: an entry is acknowledged only in the completion script, after its result is stored, and
 * only acknowledged entries are trimmed from the stream; a worker that dies leaves its entries pending, and another worker reclaims them once they have been idle
 * `claimIdleMs`. Why nothing completes twice: the completion script stores an outcome only if none is stored,
 * and a worker whose entry was taken over (its heartbeat finds another owner) abandons its run.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { JobsConfig } from "./config.ts";
import type { JobMetrics } from "./metrics.ts";
import type { JobRunner } from "./runner.ts";
import {
  COMPLETE_SCRIPT,
  evalScript,
  hashToJob,
  HEARTBEAT_SCRIPT,
  jobKey,
  parseAutoClaim,
  parseReadGroup,
  type RedisClient,
  START_SCRIPT,
  type StreamEntry,
  trimAcknowledged,
} from "./redis_streams.ts";
import type { JobOutcome } from "./runner.ts";

/** What a worker reads and how it identifies itself. */
export interface WorkerOptions {
  /** The pools to consume, with their streams. */
  pools: { pool: string; stream: string }[];
  /** This worker's consumer name in the group (unique per process). */
  consumer: string;
  metrics?: JobMetrics;
  logger: Logger;
}

/** One worker process's consumer loop. */
export class RedisJobWorker {
  #client: RedisClient;
  #reader: RedisClient;
  #config: JobsConfig;
  #runner: JobRunner;
  #options: WorkerOptions;
  #running = new Map<string, Promise<void>>();
  #stopping = new AbortController();
  #loop?: Promise<void>;
  #lastClaim = 0;

  /** `client` serves short commands; `reader` is a connection of its own for the blocking XREADGROUP. */
  constructor(client: RedisClient, reader: RedisClient, config: JobsConfig, runner: JobRunner, options: WorkerOptions) {
    this.#client = client;
    this.#reader = reader;
    this.#config = config;
    this.#runner = runner;
    this.#options = options;
  }

  /** Jobs this worker is running now. */
  get inFlight(): number {
    return this.#running.size;
  }

  /** Starts consuming. */
  start(): void {
    this.#loop ??= this.#consume();
  }

  /** Stops reading, waits up to `graceMs` for running jobs; unfinished ones stay pending for another worker. */
  async stop(graceMs: number): Promise<void> {
    this.#stopping.abort(new DOMException("the worker is stopping", "AbortError"));
    await this.#loop;
    const all = Promise.allSettled([...this.#running.values()]);
    await Promise.race([all, new Promise((r) => setTimeout(r, graceMs))]);
  }

  async #consume(): Promise<void> {
    const { logger } = this.#options;
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      try {
        const free = this.#config.workerConcurrency - this.#running.size;
        if (free <= 0) {
          await Promise.race([...this.#running.values()]);
          continue;
        }
        const claimed = await this.#reclaim(free);
        if (claimed > 0) continue;
        const streams = this.#options.pools.map((p) => p.stream);
        const reply = await this.#reader.sendCommand([
          "XREADGROUP",
          "GROUP",
          this.#config.group,
          this.#options.consumer,
          "COUNT",
          String(free),
          "BLOCK",
          String(this.#config.blockMs),
          "STREAMS",
          ...streams,
          ...streams.map(() => ">"),
        ]);
        for (const { stream, entries } of parseReadGroup(reply)) {
          for (const entry of entries) this.#dispatch(stream, entry, false);
        }
      } catch (err) {
        if (signal.aborted) break;
        logger.warn("job worker cannot read the stream; retrying", { err: String(err) });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** Takes over entries idle longer than `claimIdleMs` (their worker died); at most every claimIdleMs / 4. */
  async #reclaim(max: number): Promise<number> {
    const now = Date.now();
    if (now - this.#lastClaim < this.#config.claimIdleMs / 4) return 0;
    this.#lastClaim = now;
    let claimed = 0;
    for (const { stream } of this.#options.pools) {
      let cursor = "0-0";
      do {
        const reply = await this.#client.sendCommand([
          "XAUTOCLAIM",
          stream,
          this.#config.group,
          this.#options.consumer,
          String(this.#config.claimIdleMs),
          cursor,
          "COUNT",
          String(max - claimed),
        ]);
        const { next, entries, deleted } = parseAutoClaim(reply);
        // Entries deleted from the stream while pending: nothing here deletes a pending entry, so this is another
        // client's XDEL/XTRIM; the job id is gone with the entry, so say so loudly rather than drop it silently.
        for (const id of deleted) {
          this.#options.logger.warn("a pending job entry was deleted from the stream by another client", {
            stream,
            id,
          });
          await this.#client.sendCommand(["XACK", stream, this.#config.group, id]);
        }
        for (const entry of entries) {
          this.#dispatch(stream, entry, true);
          claimed++;
        }
        cursor = next;
      } while (cursor !== "0-0" && claimed < max);
      await this.#trim(stream);
      if (claimed >= max) break;
    }
    return claimed;
  }

  /** Drops acknowledged entries from the head of the stream (see `trimAcknowledged`). */
  async #trim(stream: string): Promise<void> {
    await trimAcknowledged(this.#client, stream, this.#config.group);
  }

  #dispatch(stream: string, entry: StreamEntry, reclaimed: boolean): void {
    const key = `${stream} ${entry.entryId}`;
    if (this.#running.has(key)) return;
    const task = this.#process(stream, entry, reclaimed).catch((err) => {
      // The entry stays pending; another worker (or this one) reclaims it after claimIdleMs.
      this.#options.logger.warn("job processing failed; it will be reclaimed", {
        entry: entry.entryId,
        err: String(err),
      });
    }).finally(() => this.#running.delete(key));
    this.#running.set(key, task);
  }

  async #process(stream: string, entry: StreamEntry, reclaimed: boolean): Promise<void> {
    const pool = this.#options.pools.find((p) => p.stream === stream)?.pool ?? "general";
    const { consumer, logger, metrics } = this.#options;
    if (reclaimed) metrics?.reclaimed.add(1, { pool });
    if (!entry.jobId) {
      await this.#finish(stream, entry.entryId, "", "failed", { type: "invalid", message: "entry without job" });
      return;
    }
    const key = jobKey(entry.jobId);
    const verdict = String(
      await evalScript(this.#client, START_SCRIPT, [key], [
        String(Date.now()),
        String(this.#config.maxAttempts),
        consumer,
      ]),
    );
    if (verdict === "missing" || verdict === "done") {
      // Expired, or finished by a worker that was presumed dead: nothing to run, only the entry to clear.
      await this.#finish(stream, entry.entryId, key, "failed", { type: "gone", message: verdict });
      if (verdict === "done") metrics?.processed.add(1, { pool, outcome: "duplicate" });
      return;
    }
    if (verdict === "exhausted") {
      const message = `the job's workers stopped ${this.#config.maxAttempts} times while running it; giving up`;
      const stored = await this.#finish(stream, entry.entryId, key, "failed", {
        type: "job_abandoned",
        message,
        status: 500,
      });
      if (stored) metrics?.processed.add(1, { pool, outcome: "abandoned" });
      logger.warn("job abandoned", { job: entry.jobId });
      return;
    }

    const reply = await this.#client.sendCommand(["HGETALL", key]) as string[];
    const hash: Record<string, string> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) hash[reply[i]] = reply[i + 1];
    const job = hashToJob(hash);
    if (!job) return;
    const lost = new AbortController();
    const heartbeat = setInterval(async () => {
      try {
        const owned = await evalScript(this.#client, HEARTBEAT_SCRIPT, [stream], [
          this.#config.group,
          entry.entryId,
          consumer,
        ]);
        if (Number(owned) === 0) lost.abort(new DOMException("another worker took the job over", "AbortError"));
      } catch { /* a missed heartbeat only risks a reclaim, which the completion script makes harmless */ }
    }, this.#config.heartbeatMs);
    const t0 = performance.now();
    let outcome: JobOutcome;
    try {
      logger.debug("job started", { job: job.id, attempt: job.attempts, reclaimed });
      outcome = await this.#runner.run(job, lost.signal);
    } finally {
      clearInterval(heartbeat);
    }
    if (lost.signal.aborted) {
      metrics?.processed.add(1, { pool, outcome: "duplicate" });
      return;
    }
    const status = outcome.ok ? "succeeded" : "failed";
    const stored = outcome.ok
      ? await this.#finish(stream, entry.entryId, key, "succeeded", outcome.result)
      : await this.#finish(stream, entry.entryId, key, "failed", outcome.error);
    metrics?.processed.add(1, { pool, outcome: stored ? status : "duplicate" });
    metrics?.duration.record((performance.now() - t0) / 1000, { pool, outcome: status });
    logger.info("job finished", { job: job.id, status, stored, attempt: job.attempts });
  }

  /** Stores an outcome (if none is stored yet) and acknowledges the entry; true when this one stored it. */
  async #finish(stream: string, entryId: string, key: string, status: string, payload: unknown): Promise<boolean> {
    const stored = await evalScript(this.#client, COMPLETE_SCRIPT, [key || "amas:job:none", stream], [
      this.#config.group,
      entryId,
      status,
      status === "succeeded" ? "result" : "error",
      JSON.stringify(payload),
      String(Date.now()),
      String(this.#config.resultTtlSeconds),
      this.#options.consumer,
    ]);
    return Number(stored) === 1;
  }
}
