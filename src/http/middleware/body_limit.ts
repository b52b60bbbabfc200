/**
 * Rejects bodies larger than the configured limit with a 413, whether or not they announce their length.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import type { GatewayEnv } from "../context.ts";
import { PayloadTooLargeError } from "../../errors.ts";

/** Limits request bodies to `maxBytes`. */
export function bodyLimit(maxBytes: number): MiddlewareHandler<GatewayEnv> {
  return honoBodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new PayloadTooLargeError(`the request body is larger than ${maxBytes} bytes (AMAS_MAX_BODY_BYTES)`);
    },
  });
}
