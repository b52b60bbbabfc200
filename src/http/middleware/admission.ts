/**
 * Admission control in the request path: waits for a slot of the `AdmissionController` or sheds with a 503, and
 * gives the slot back when the response body is done (so streams count until their last byte).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { GatewayEnv } from "../context.ts";
import type { AdmissionController } from "../../resilience/admission.ts";

/** Holds an admission slot for the life of the response. */
export function admission(controller: AdmissionController): MiddlewareHandler<GatewayEnv> {
  return async function admission(c, next) {
    const t0 = performance.now();
    const release = await controller.acquire();
    const waited = performance.now() - t0;
    if (waited > 0.05) c.get("timing").add("queue", waited);
    c.get("onBodyDone").push(release);
    await next();
  };
}
