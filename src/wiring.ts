/**
 * Wiring: builds every service from the configuration and connects them, in one place. Tests, benchmarks and
 * `src/main.ts` all start here, so what they exercise is what runs in production.
 *
 * @module
 */
import { OverloadedError } from "./errors.ts";
import type { Hono } from "hono";
import type { Config } from "./config.ts";
import { createApp, type RouteMounter } from "./app.ts";
import type { GatewayEnv } from "./http/context.ts";
import { KeyRing } from "./http/middleware/auth.ts";
import { Readiness } from "./http/routes/health.ts";
import { ChatService, type ChatStages } from "./gateway/chat_service.ts";
import { DirectUpstream } from "./gateway/direct_upstream.ts";
import { ProviderRegistry } from "./providers/registry.ts";
import { AdmissionController } from "./resilience/admission.ts";
import { asStaleSource, createResilience, type Resilience } from "./resilience/mod.ts";
import { Telemetry } from "./telemetry/telemetry.ts";
import { GatewayMetrics } from "./telemetry/gateway_metrics.ts";
import { Logger } from "./log.ts";
import { createJobs } from "./jobs/mod.ts";
import { startScalingMetrics } from "./scaling/mod.ts";
import { type CostAccountant, createCost } from "./cost/mod.ts";
import { loadTokenizer } from "./cost/tokens.ts";
import { SimulatedProvider } from "./providers/simulated.ts";
import { createRouting, resilienceHealth, type Routing } from "./routing/mod.ts";
import { createStore, type Store, storeReadinessCheck } from "./store/mod.ts";
import { cacheRoutes, SemanticCache } from "./cache/mod.ts";
import { createEmbedder } from "./embed/mod.ts";
import { trimAfterCollections } from "./native_memory.ts";

/** A built gateway, not yet listening. */
export interface Gateway {
  app: Hono<GatewayEnv>;
  config: Config;
  telemetry: Telemetry;
  metrics: GatewayMetrics;
  registry: ProviderRegistry;
  admission: AdmissionController;
  readiness: Readiness;
  logger: Logger;
  service: ChatService;
  /** Breakers, rate limits and single-flight (their state is in `GET /v1/resilience`). */
  resilience?: Resilience;
  /** Deployments per model and their policies (their state is in `GET /v1/routing`). */
  routing?: Routing;
  /** Cost accounting, budgets and recommendations (absent when `cost.enabled` is false). */
  cost?: CostAccountant;
  /** Where cache entries persist and replicate (memory, Redis or Upstash; docs/STORES.md). */
  store: Store;
  /** The response cache (absent when `cache.enabled` is false; docs/CACHE.md). */
  cache?: SemanticCache;
  /** Aborted when shutdown gives up on in-flight work. */
  abortInFlight(reason?: string): void;
  /** Stops background work and flushes what must outlive the process. */
  close(): Promise<void>;
}

/** Builds the gateway from a validated configuration. */
export async function createGateway(config: Config): Promise<Gateway> {
  const logger = new Logger(config.logLevel, { service: config.serviceName });
  const telemetry = new Telemetry({ serviceName: config.serviceName, otlpEndpoint: config.otlpEndpoint });
  const metrics = new GatewayMetrics(telemetry);
  const registry = new ProviderRegistry(config.providers, { routedModels: Object.keys(config.routing.models) });
  const keys = await KeyRing.create(config.apiKeys, config.adminToken);
  const readiness = new Readiness();
  const shutdown = new AbortController();
  const closers: (() => Promise<void> | void)[] = [];

  const sheds = telemetry.meter.createCounter("amas_admission_shed", {
    description: "requests shed by admission control, by reason",
  });
  const admission = new AdmissionController(config.resilience.admission, (reason) => sheds.add(1, { reason }));
  telemetry.meter.createObservableGauge("amas_admission_queue_depth", {
    description: "requests waiting for an admission slot",
  }).addCallback((r) => r.observe(admission.queueDepth));
  telemetry.meter.createObservableGauge("amas_admission_in_flight", {
    description: "requests holding an admission slot",
  }).addCallback((r) => r.observe(admission.inFlight));

  // The cache store first: the cache warms from it, and it closes last (closers run in reverse) so the cache's
  // final writes are flushed. A Redis that is down does not stop start-up: the store opens degraded.
  const store = await createStore(config, { logger, meter: telemetry.meter });
  readiness.add(storeReadinessCheck(store));
  closers.push(() => store.close());

  const stages: ChatStages = {
    router: { candidates: (call) => [registry.resolve(call.request.model)] },
    upstream: new DirectUpstream(metrics),
  };
  const mounts: RouteMounter[] = [];
  const resilience = createResilience({
    config: config.resilience,
    registry,
    telemetry,
    metrics,
    admission,
    logger,
    redisUrl: config.redisUrl,
    stale: () => asStaleSource(stages.cache),
  });
  stages.upstream = resilience.upstream;
  stages.limiter = resilience.limiter;
  stages.dedup = resilience.dedup;
  mounts.push(resilience.mount);
  closers.push(() => resilience.close());
  const routing = createRouting({
    routing: config.routing,
    deployments: config.providers.deployments,
    registry,
    telemetry,
    health: resilienceHealth(resilience.policies),
  });
  stages.router = routing.router;
  mounts.push(routing.mount);

  // Cost before the service: budgets are checked and requests priced on the chat path.
  // An external upstream may ignore the request for usage: have the tokenizer ready before the first answer then.
  if (config.cost.enabled && registry.all().some((p) => !(p instanceof SimulatedProvider))) await loadTokenizer();
  const cost = config.cost.enabled
    ? createCost(config.cost, {
      telemetry,
      logger,
      redisUrl: config.redisUrl,
      deployments: config.providers.deployments,
    })
    : undefined;
  if (cost) {
    stages.cost = cost.accountant;
    mounts.push(cost.mount);
    closers.push(() => cost.close());
  }

  // The response cache: exact, then semantic hits over the store; readiness `cache` waits for its index to warm.
  let cache: SemanticCache | undefined;
  if (config.cache.enabled) {
    const embedder = createEmbedder(config.cache, {
      openaiBaseUrl: config.providers.openai.baseUrl,
      openaiApiKey: config.providers.openai.apiKey,
    });
    cache = await SemanticCache.open({
      config: config.cache,
      store,
      embedder,
      meter: telemetry.meter,
      logger: logger.child({ component: "cache" }),
      // Near-misses just under the threshold feed the cost recommendations.
      observer: cost?.accountant.cacheObservations,
      // With a data directory the vector index survives restarts (no HNSW rebuild at start).
      snapshotDir: config.dataDir ? `${config.dataDir}/cache-index` : undefined,
    });
    stages.cache = cache;
    // Start-up frees much of the native memory it allocated (snapshot buffers, the index build, the model load in
    // the embedder's worker): once the index is warm and the model loaded, hand those pages back to the system.
    const modelLoaded = (embedder as { ready?: Promise<void> }).ready;
    Promise.allSettled([cache.whenReady(), modelLoaded]).then(() => trimAfterCollections());
    readiness.add(cache.readinessCheck());
    mounts.push(cacheRoutes(cache));
    closers.push(() => cache!.close());
  }

  const service = new ChatService(stages);
  const jobs = await createJobs(config.jobs, { redisUrl: config.redisUrl, service, telemetry, logger });
  mounts.push(jobs.mount);
  closers.push(() => jobs.close());
  // In a cluster: replicas, scale events and requests per replica, read-only from the Kubernetes API.
  const stopScalingMetrics = await startScalingMetrics(config.scaling, { telemetry, logger });
  if (stopScalingMetrics) closers.push(stopScalingMetrics);
  const app = createApp({
    service,
    registry,
    admission,
    telemetry,
    metrics,
    keys,
    readiness,
    logger,
    maxBodyBytes: config.maxBodyBytes,
    shutdownSignal: shutdown.signal,
    serveMetrics: config.metricsPort === undefined,
    mounts,
  });

  return {
    app,
    config,
    telemetry,
    metrics,
    registry,
    admission,
    readiness,
    logger,
    service,
    resilience,
    routing,
    cost: cost?.accountant,
    store,
    cache,
    abortInFlight(reason = "the gateway is shutting down") {
      // A 503 with Retry-After: the client's retry lands on a replica that is not going away.
      shutdown.abort(new OverloadedError(reason, { retryAfterSeconds: 1, code: "shutting_down" }));
    },
    async close() {
      for (const close of closers.reverse()) await close();
      await registry.close();
      await telemetry.shutdown();
    },
  };
}
