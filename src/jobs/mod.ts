/**
 * Asynchronous jobs: `POST /v1/jobs` → a Redis Stream with a consumer group (or, embedded, an in-process queue
 * with in-process workers); `deno task worker` consumes the stream through the gateway's own chat path.
 *
 * @module
 */
import type { RouteMounter } from "../app.ts";
import type { ChatService } from "../gateway/chat_service.ts";
import type { Logger } from "../log.ts";
import type { Telemetry } from "../telemetry/telemetry.ts";
import type { JobsConfig } from "./config.ts";
import { MemoryJobQueue } from "./memory_queue.ts";
import { JobMetrics } from "./metrics.ts";
import { RedisJobQueue } from "./redis_queue.ts";
import { mountJobRoutes } from "./routes.ts";
import { JobRunner } from "./runner.ts";
import type { JobQueue } from "./types.ts";

export * from "./config.ts";
export * from "./types.ts";
export { JobRunner } from "./runner.ts";
export { JobMetrics } from "./metrics.ts";
export { MemoryJobQueue } from "./memory_queue.ts";
export { RedisJobQueue } from "./redis_queue.ts";
export { RedisJobWorker } from "./worker.ts";

/** The jobs feature, built. */
export interface Jobs {
  queue: JobQueue;
  mount: RouteMounter;
  close(): Promise<void>;
}

/** Builds the job queue (Redis when `redisUrl` is set, else in-process) and its routes. */
export async function createJobs(
  config: JobsConfig,
  deps: { redisUrl?: string; service: ChatService; telemetry: Telemetry; logger: Logger },
): Promise<Jobs> {
  let queue: JobQueue;
  if (deps.redisUrl) {
    let lastLog = 0;
    const redis = await RedisJobQueue.connect(deps.redisUrl, config, (err) => {
      // node-redis reports every reconnect attempt; one line per 10 s is enough to see an outage.
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        deps.logger.warn("job store (Redis) error", { err: String(err) });
      }
    });
    redis.metrics = new JobMetrics(deps.telemetry, () => redis.backlog());
    queue = redis;
  } else {
    const runner = new JobRunner(deps.service, { timeoutMs: config.jobTimeoutMs });
    const memory = new MemoryJobQueue(config, runner);
    memory.metrics = new JobMetrics(deps.telemetry, () => memory.backlog());
    queue = memory;
  }
  return {
    queue,
    mount: (app) => mountJobRoutes(app, queue, config),
    close: () => queue.close(),
  };
}
