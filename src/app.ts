/**
 * The Hono app: middleware order and routes, read top to bottom. No business logic lives here; every handler
 * gets its services from `src/wiring.ts`.
 *
 * @module
 */
import { Hono } from "hono";
import type { MiddlewareHandler } from "hono";
import { httpInstrumentationMiddleware } from "@hono/otel";
import type { GatewayEnv } from "./http/context.ts";
import { requestContext } from "./http/middleware/request_context.ts";
import { requestMetrics } from "./http/middleware/request_metrics.ts";
import { adminAuth, apiKeyAuth, type KeyRing } from "./http/middleware/auth.ts";
import { admission } from "./http/middleware/admission.ts";
import { bodyLimit } from "./http/middleware/body_limit.ts";
import { errorResponse, toGatewayError } from "./http/errors.ts";
import { ClientClosedError, NotFoundError } from "./errors.ts";
import { chatCompletions } from "./http/routes/chat.ts";
import { listModels } from "./http/routes/models.ts";
import { healthz, type Readiness, readyz } from "./http/routes/health.ts";
import { metrics } from "./http/routes/metrics.ts";
import { getSim, putSim } from "./http/routes/admin_sim.ts";
import type { ChatService } from "./gateway/chat_service.ts";
import type { ProviderRegistry } from "./providers/registry.ts";
import type { AdmissionController } from "./resilience/admission.ts";
import type { Telemetry } from "./telemetry/telemetry.ts";
import type { GatewayMetrics } from "./telemetry/gateway_metrics.ts";
import type { Logger } from "./log.ts";

/** Routes a feature adds to the app (cache, costs, jobs, …), mounted after authentication. */
export type RouteMounter = (app: Hono<GatewayEnv>, guards: { admin: MiddlewareHandler<GatewayEnv> }) => void;

/** What the app is built from. */
export interface AppDeps {
  service: ChatService;
  registry: ProviderRegistry;
  admission: AdmissionController;
  telemetry: Telemetry;
  metrics: GatewayMetrics;
  keys: KeyRing;
  readiness: Readiness;
  logger: Logger;
  maxBodyBytes: number;
  shutdownSignal: AbortSignal;
  /** Serve /metrics on this app (false when AMAS_METRICS_PORT moves it elsewhere). */
  serveMetrics: boolean;
  /** Feature routes under /v1 and /admin. */
  mounts?: RouteMounter[];
}

/** Builds the gateway's Hono app. */
export function createApp(deps: AppDeps): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();

  app.use(requestContext());
  app.use(requestMetrics(deps.metrics));
  if (deps.telemetry.tracerProvider) {
    app.use(httpInstrumentationMiddleware({ tracerProvider: deps.telemetry.tracerProvider }));
  }

  app.get("/healthz", healthz);
  app.get("/readyz", readyz(deps.readiness));
  if (deps.serveMetrics) app.get("/metrics", metrics(deps.telemetry));

  const admin = adminAuth(deps.keys);
  app.use("/v1/*", bodyLimit(deps.maxBodyBytes), apiKeyAuth(deps.keys));
  app.use("/admin/*", bodyLimit(deps.maxBodyBytes), admin);

  app.post("/v1/chat/completions", admission(deps.admission), chatCompletions(deps));
  app.get("/v1/models", listModels(deps.registry));
  app.put("/admin/sim", putSim(deps.registry.sim));
  app.get("/admin/sim", getSim(deps.registry.sim));
  for (const mount of deps.mounts ?? []) mount(app, { admin });

  app.notFound((c) => {
    const err = new NotFoundError(`no route ${c.req.method} ${new URL(c.req.url).pathname}`);
    return errorResponse(err, { "x-amas-request-id": c.get("requestId") ?? "" });
  });
  app.onError((err, c) => {
    if (c.req.raw.signal.aborted) {
      // The client went away mid-request; nobody reads this answer and nothing failed on our side.
      deps.logger.debug("client closed the request", { requestId: c.get("requestId"), err: String(err) });
      return errorResponse(new ClientClosedError(), { "x-amas-request-id": c.get("requestId") ?? "" });
    }
    const gatewayError = toGatewayError(err);
    if (gatewayError.status >= 500 && gatewayError.type === "api_error") {
      deps.logger.error("unhandled error", {
        requestId: c.get("requestId"),
        err: String(err),
        stack: (err as Error)?.stack,
      });
    }
    const headers: Record<string, string> = { "x-amas-request-id": c.get("requestId") ?? "" };
    const timing = c.get("timing");
    if (timing) headers["server-timing"] = timing.header();
    return errorResponse(gatewayError, headers);
  });
  return app;
}
