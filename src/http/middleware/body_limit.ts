/**
 * Rejects bodies larger than the configured limit with a 413, whether or not they announce their length.
 *
 * A body that announces its length (and is not chunked) is judged by its `content-length` alone, without touching
 * `Request.body`: in Deno that getter turns the body into a `ReadableStream` (measured ~14 µs a request), and the
 * later read then goes through the stream instead of reading the body at once. Chunked bodies are counted as they
 * are read, by Hono's body-limit middleware.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import type { GatewayEnv } from "../context.ts";
import { PayloadTooLargeError } from "../../errors.ts";

/** Limits request bodies to `maxBytes`. */
export function bodyLimit(maxBytes: number): MiddlewareHandler<GatewayEnv> {
  const tooLarge = () => {
    throw new PayloadTooLargeError(`the request body is larger than ${maxBytes} bytes (AMAS_MAX_BODY_BYTES)`);
  };
  const counting = honoBodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return function bodyLimit(c, next) {
    const headers = c.req.raw.headers;
    const length = headers.get("content-length");
    if (length !== null && !headers.has("transfer-encoding")) {
      // As Hono judges it: the announced length, parsed like parseInt.
      return parseInt(length || "0", 10) > maxBytes ? tooLarge() : next();
    }
    return counting(c, next);
  };
}
