/**
 * The job queue on Redis (`REDIS_URL`): `POST /v1/jobs` stores the job hash and appends its id to the pool's
 * stream in one MULTI; `deno task worker` processes (src/jobs/worker.ts) consume the stream through the consumer
 * group. Redis unreachable: enqueueing answers 503 (the client may retry), reading a job answers 503.
 *
 * @module
 */
import { OverloadedError } from "../errors.ts";
import { allStreams, type JobsConfig, streamOf } from "./config.ts";
import type { JobMetrics } from "./metrics.ts";
import {
  connectRedis,
  ensureGroup,
  hashToJob,
  jobKey,
  jobToHash,
  parseGroupInfo,
  type RedisClient,
} from "./redis_streams.ts";
import { type JobQueue, type JobRecord, type NewJob, newJobId, type StreamBacklog } from "./types.ts";

/** The producer and reader side of the Redis job queue. */
export class RedisJobQueue implements JobQueue {
  #client: RedisClient;
  #config: JobsConfig;
  #metrics?: JobMetrics;

  private constructor(client: RedisClient, config: JobsConfig) {
    this.#client = client;
    this.#config = config;
  }

  /** Connects and makes sure every pool's stream and consumer group exist. */
  static async connect(
    url: string,
    config: JobsConfig,
    onError: (err: unknown) => void,
  ): Promise<RedisJobQueue> {
    const client = await connectRedis(url, {
      onError,
      // After every (re)connection: a Redis that restarted empty needs its streams and groups again.
      onReady: async (c) => {
        for (const { stream } of allStreams(config)) await ensureGroup(c, stream, config.group);
      },
    });
    return new RedisJobQueue(client, config);
  }

  /** Metrics to count enqueued jobs on (set after construction: the metrics read this queue's backlog). */
  set metrics(metrics: JobMetrics) {
    this.#metrics = metrics;
  }

  async enqueue(input: NewJob): Promise<JobRecord> {
    const stream = streamOf(this.#config, input.pool);
    if (!stream) throw new Error(`unknown pool ${input.pool}`);
    const job: JobRecord = { ...input, id: newJobId(), status: "queued", createdAt: Date.now(), attempts: 0 };
    try {
      const { backlog } = await readBacklog(this.#client, { pool: input.pool, stream, group: this.#config.group });
      if (backlog >= this.#config.maxQueued) {
        throw new OverloadedError(`the job queue of pool ${input.pool} is full; retry later`, {
          retryAfterSeconds: 5,
        });
      }
      const key = jobKey(job.id);
      const hash = Object.entries(jobToHash(job)).flat();
      await this.#client.multi()
        .addCommand(["HSET", key, ...hash])
        .addCommand(["EXPIRE", key, String(this.#config.resultTtlSeconds)])
        .addCommand(["XADD", stream, "*", "job", job.id])
        .exec();
    } catch (err) {
      if (err instanceof OverloadedError) throw err;
      throw unavailable(err);
    }
    this.#metrics?.enqueued.add(1, { pool: input.pool });
    return job;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    try {
      const reply = await this.#client.sendCommand(["HGETALL", jobKey(id)]) as string[];
      const hash: Record<string, string> = {};
      for (let i = 0; i + 1 < reply.length; i += 2) hash[reply[i]] = reply[i + 1];
      return hashToJob(hash);
    } catch (err) {
      throw unavailable(err);
    }
  }

  async backlog(): Promise<StreamBacklog[]> {
    return await Promise.all(
      allStreams(this.#config).map(({ pool, stream }) =>
        readBacklog(this.#client, {
          pool,
          stream,
          group: this.#config.group,
        })
      ),
    );
  }

  async close(): Promise<void> {
    await this.#client.close().catch(() => {});
  }
}

/** Backlog of one stream: pending and lag of the consumer group (`XINFO GROUPS`). */
export async function readBacklog(
  client: RedisClient,
  target: { pool: string; stream: string; group: string },
): Promise<StreamBacklog> {
  let info: ReturnType<typeof parseGroupInfo>;
  try {
    info = parseGroupInfo(await client.sendCommand(["XINFO", "GROUPS", target.stream]), target.group);
  } catch {
    info = undefined; // no stream yet
  }
  const pending = info?.pending ?? 0;
  let lag = info?.lag;
  if (lag === null || lag === undefined) {
    // Redis could not tell (only after XDEL, which nothing here does): count the entries after the last delivery.
    const after = info ? `(${info.lastDeliveredId}` : "-";
    lag = Number(await client.sendCommand(["XLEN", target.stream])) > 0
      ? (await client.sendCommand(["XRANGE", target.stream, after, "+", "COUNT", "1000000"]) as unknown[]).length
      : 0;
  }
  return { pool: target.pool, stream: target.stream, backlog: lag + pending, pending, lag };
}

function unavailable(err: unknown): OverloadedError {
  return new OverloadedError("the job store (Redis) is unavailable; retry later", {
    retryAfterSeconds: 2,
    code: "job_store_unavailable",
    cause: err,
  });
}
