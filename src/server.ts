/**
 * Serving a built gateway with `Deno.serve`, and stopping it gracefully: readiness turns red first, the listener
 * closes, in-flight requests (streams included) finish within the grace period, then services flush and close.
 *
 * @module
 */
import type { Gateway } from "./wiring.ts";
import { Hono } from "hono";
import { metrics } from "./http/routes/metrics.ts";

/** A listening gateway. */
export interface RunningGateway {
  /** Base URL, e.g. `http://127.0.0.1:8000`. */
  url: string;
  /** The metrics URL when metrics have a port of their own. */
  metricsUrl?: string;
  /** Drains and stops; resolves when everything is closed. Safe to call twice. */
  shutdown(): Promise<void>;
}

/** Starts listening. */
export function serveGateway(gateway: Gateway, options: { onListen?: (url: string) => void } = {}): RunningGateway {
  const { config, logger } = gateway;
  const server = Deno.serve({
    hostname: config.host,
    port: config.port,
    onListen: () => {},
  }, gateway.app.fetch);
  const addr = server.addr as Deno.NetAddr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const url = `http://${host}:${addr.port}`;

  let metricsServer: Deno.HttpServer | undefined;
  let metricsUrl: string | undefined;
  if (config.metricsPort !== undefined) {
    const metricsApp = new Hono().get("/metrics", metrics(gateway.telemetry));
    metricsServer = Deno.serve(
      { hostname: config.host, port: config.metricsPort, onListen: () => {} },
      metricsApp.fetch,
    );
    metricsUrl = `http://${host}:${(metricsServer.addr as Deno.NetAddr).port}/metrics`;
  }
  logger.info("listening", { url, metricsUrl: metricsUrl ?? `${url}/metrics` });
  options.onListen?.(url);

  let stopping: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    gateway.readiness.drain();
    const grace = config.shutdownGraceMs;
    logger.info("draining", { inFlight: gateway.admission.inFlight, graceMs: grace });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), grace));
    const result = await Promise.race([server.shutdown().then(() => "drained" as const), timedOut]);
    clearTimeout(timer);
    if (result === "timeout") {
      logger.warn("grace period over; aborting what is still in flight", { inFlight: gateway.admission.inFlight });
      gateway.abortInFlight();
      await Promise.race([server.finished, new Promise((r) => setTimeout(r, 1000))]);
    }
    await metricsServer?.shutdown();
    await gateway.close();
    logger.info("stopped");
  }

  return {
    url,
    metricsUrl,
    shutdown: () => stopping ??= shutdown(),
  };
}
