/**
 * The one place where errors become HTTP responses: `GatewayError`s keep their status and type, upstream
 * failures are mapped to gateway statuses, and anything else is a gateway bug (500, logged, no details sent).
 *
 * @module
 */
import { GatewayError, UpstreamError, UpstreamTimeoutError } from "../errors.ts";
import { InvalidRequestError, OverloadedError, RateLimitError } from "../errors.ts";
import { ProviderError } from "../providers/types.ts";

/** The OpenAI-shaped error body. */
export interface ErrorBody {
  error: { type: string; message: string; param: string | null; code: string | null };
}

/** Converts any thrown value into a `GatewayError` (unexpected values become a 500 `api_error`). */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof ProviderError) return fromProvider(err);
  return new GatewayError(500, "api_error", "the gateway failed unexpectedly; the request id is in x-amas-request-id", {
    cause: err,
  });
}

function fromProvider(err: ProviderError): GatewayError {
  const retryAfterSeconds = err.retryAfterMs !== undefined ? Math.ceil(err.retryAfterMs / 1000) : undefined;
  if (err.status === 429) {
    return new RateLimitError("the upstream provider is rate limiting; retry later", {
      retryAfterSeconds: retryAfterSeconds ?? 1,
      code: "upstream_rate_limited",
    });
  }
  if (err.status === 504) return new UpstreamTimeoutError("the upstream provider did not answer in time");
  if (err.status === 400 || err.status === 404 || err.status === 413 || err.status === 422) {
    // The upstream judged the request itself; its message helps the client fix it.
    return new InvalidRequestError(`the upstream rejected the request: ${err.upstreamMessage ?? err.message}`, {
      code: "upstream_invalid_request",
    });
  }
  if (err.status === 503) {
    return new OverloadedError("the upstream provider is unavailable", { retryAfterSeconds: retryAfterSeconds ?? 1 });
  }
  if (err.status === 0) {
    return new UpstreamError("cannot reach the upstream provider", { code: "upstream_unreachable" });
  }
  return new UpstreamError(`the upstream provider failed (status ${err.status})`, { code: "upstream_error" });
}

/** The JSON body for an error. */
export function errorBody(err: GatewayError): ErrorBody {
  return { error: { type: err.type, message: err.message, param: err.param ?? null, code: err.code ?? null } };
}

/** A complete JSON error response, with `Retry-After` and any extra headers the error carries. */
export function errorResponse(err: GatewayError, headers: Record<string, string> = {}): Response {
  const h = new Headers({ "content-type": "application/json", ...headers, ...err.headers });
  if (err.retryAfterSeconds !== undefined) h.set("retry-after", String(Math.max(0, Math.ceil(err.retryAfterSeconds))));
  return new Response(JSON.stringify(errorBody(err)), { status: err.status, headers: h });
}
