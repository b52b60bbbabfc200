/**
 * What the middleware chain stores on a request's Hono context, typed once.
 *
 * @module
 */
import type { Timing } from "../gateway/timing.ts";

/** Hono environment of the gateway app. */
export interface GatewayEnv {
  Variables: {
    requestId: string;
    tenant: string;
    agentId: string;
    timing: Timing;
    /** Functions to run when the response body has been fully sent (or abandoned). */
    onBodyDone: (() => void)[];
  };
}
