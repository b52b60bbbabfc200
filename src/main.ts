/**
 * Entry point of `deno task serve`: configuration → wiring → `Deno.serve` → graceful shutdown on SIGTERM/SIGINT.
 *
 * @module
 */
import { ConfigError, loadConfig } from "./config.ts";
import { createGateway } from "./wiring.ts";
import { serveGateway } from "./server.ts";

if (import.meta.main) {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`amas: ${err.message}`);
      Deno.exit(2);
    }
    throw err;
  }
  const gateway = await createGateway(config);
  const running = serveGateway(gateway);
  console.error(
    `amas: gateway listening on ${running.url} (metrics at ${running.metricsUrl ?? `${running.url}/metrics`})`,
  );
  let signalled = false;
  const stop = async (signal: Deno.Signal) => {
    if (signalled) return;
    signalled = true;
    console.error(`amas: ${signal} received, draining`);
    await running.shutdown();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
}
