/**
 * Entry point of `deno task worker`: consumes the job streams of the pools named by `--pool` (repeatable) or
 * `AMAS_WORKER_POOLS` (comma-separated; default `general`), running each job through the gateway built by
 * `createGateway(config)` (same cache, resilience and cost path as HTTP requests). Serves `/metrics`, `/healthz`
 * and `/readyz` on `AMAS_WORKER_PORT`. SIGTERM stops reading and lets running jobs finish within the grace period;
 * jobs still unfinished stay pending and another worker reclaims them.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Hono } from "hono";
import { ConfigError, loadConfig } from "../config.ts";
import { createGateway } from "../wiring.ts";
import { metrics as metricsRoute } from "../http/routes/metrics.ts";
import { allStreams } from "./config.ts";
import { JobMetrics } from "./metrics.ts";
import { readBacklog } from "./redis_queue.ts";
import { connectRedis, ensureGroup } from "./redis_streams.ts";
import { JobRunner } from "./runner.ts";
import { RedisJobWorker } from "./worker.ts";

/** Starts a worker; resolves when it has stopped. */
export async function runWorker(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { pool: { type: "string", multiple: true } } });
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`amas worker: ${err.message}`);
      return 2;
    }
    throw err;
  }
  if (!config.redisUrl) {
    console.error(
      "amas worker: REDIS_URL is not set; workers consume the Redis job stream (without Redis the " +
        "gateway runs jobs in-process)",
    );
    return 2;
  }
  const names = values.pool?.length ? values.pool : (Deno.env.get("AMAS_WORKER_POOLS") ?? "general").split(",");
  const known = allStreams(config.jobs);
  const pools: { pool: string; stream: string }[] = [];
  for (const name of names.map((n) => n.trim()).filter(Boolean)) {
    const found = known.find((p) => p.pool === name);
    if (!found) {
      console.error(`amas worker: unknown pool '${name}'; known pools: ${known.map((p) => p.pool).join(", ")}`);
      return 2;
    }
    pools.push(found);
  }

  // The worker runs jobs itself; the gateway it builds must not start in-process job workers of its own.
  // Nor read the cluster's scaling metrics: the gateway pods export those.
  const gateway = await createGateway({
    ...config,
    jobs: { ...config.jobs, embeddedWorkers: 0 },
    scaling: { ...config.scaling, watch: "off" },
  });
  const logger = gateway.logger.child({ component: "job-worker" });
  const consumer = Deno.env.get("AMAS_WORKER_NAME") ??
    `${Deno.hostname()}-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const onError = (err: unknown) => logger.warn("redis error", { err: String(err) });
  const onReady = async (c: Parameters<typeof ensureGroup>[0]) => {
    for (const { stream } of pools) await ensureGroup(c, stream, config.jobs.group);
  };
  const client = await connectRedis(config.redisUrl, { onError, onReady });
  const reader = await connectRedis(config.redisUrl, { onError });
  const metrics = new JobMetrics(
    gateway.telemetry,
    () => Promise.all(pools.map((p) => readBacklog(client, { ...p, group: config.jobs.group }))),
  );
  const runner = new JobRunner(gateway.service, { timeoutMs: config.jobs.jobTimeoutMs });
  const worker = new RedisJobWorker(client, reader, config.jobs, runner, { pools, consumer, metrics, logger });

  let draining = false;
  const app = new Hono()
    .get("/metrics", metricsRoute(gateway.telemetry))
    .get("/healthz", (c) => c.json({ status: "ok" }))
    .get("/readyz", (c) => c.json({ ready: !draining && client.isReady }, !draining && client.isReady ? 200 : 503));
  const server = Deno.serve({ hostname: config.host, port: config.jobs.workerPort, onListen: () => {} }, app.fetch);
  const port = (server.addr as Deno.NetAddr).port;
  worker.start();
  logger.info("worker started", { consumer, pools: pools.map((p) => p.pool), port });

  const stopped = Promise.withResolvers<void>();
  const stop = async (signal: string) => {
    if (draining) return;
    draining = true;
    logger.info("worker stopping", { signal, inFlight: worker.inFlight });
    await worker.stop(config.shutdownGraceMs);
    await server.shutdown();
    await client.close().catch(() => {});
    await reader.close().catch(() => reader.destroy());
    await gateway.close();
    logger.info("worker stopped", { consumer });
    stopped.resolve();
  };
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  await stopped.promise;
  return 0;
}

if (import.meta.main) Deno.exit(await runWorker(Deno.args));
