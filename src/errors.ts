/**
 * Typed errors, one per kind of failure a client can cause or meet. Each carries its HTTP status and OpenAI error
 * type; `src/http/errors.ts` turns them into responses in one place. Anything else that escapes is a gateway bug
 * and answers 500 without details.
 *
 * @module
 */

/** Options shared by every gateway error. */
export interface GatewayErrorOptions {
  /** The request field at fault, when there is one. */
  param?: string;
  /** A machine-readable code, e.g. `model_not_found`. */
  code?: string;
  /** Seconds after which a retry may succeed (sent as `Retry-After`). */
  retryAfterSeconds?: number;
  /** Extra response headers, e.g. `RateLimit-*`. */
  headers?: Record<string, string>;
  cause?: unknown;
}

/** Base class: an error with an HTTP status and an OpenAI-style error type. */
export class GatewayError extends Error {
  readonly status: number;
  readonly type: string;
  readonly param?: string;
  readonly code?: string;
  readonly retryAfterSeconds?: number;
  readonly headers: Record<string, string>;

  constructor(status: number, type: string, message: string, options: GatewayErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.status = status;
    this.type = type;
    this.param = options.param;
    this.code = options.code;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.headers = options.headers ?? {};
  }
}

/** 400: the request is malformed or has invalid values. */
export class InvalidRequestError extends GatewayError {
  override name = "InvalidRequestError";
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super(400, "invalid_request_error", message, options);
  }
}

/** 401: no credentials or unknown credentials. */
export class AuthenticationError extends GatewayError {
  override name = "AuthenticationError";
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super(401, "authentication_error", message, { code: "invalid_api_key", ...options });
  }
}

/** 403: valid credentials that may not do this. */
export class PermissionError extends GatewayError {
  override name = "PermissionError";
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super(403, "permission_error", message, options);
  }
}

/** 404: no such route, model, entry or job. */
export class NotFoundError extends GatewayError {
  override name = "NotFoundError";
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super(404, "not_found_error", message, options);
  }
}

/** 413: the body is larger than the configured limit. */
export class PayloadTooLargeError extends GatewayError {
  override name = "PayloadTooLargeError";
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super(413, "invalid_request_error", message, { code: "payload_too_large", ...options });
  }
}

/** 429: a rate limit or budget of the caller is exhausted. */
export class RateLimitError extends GatewayError {
  override name = "RateLimitError";
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super(429, "rate_limit_error", message, { code: "rate_limit_exceeded", ...options });
  }
}

/** 503: the gateway sheds load, or every upstream for the model is unavailable. */
export class OverloadedError extends GatewayError {
  override name = "OverloadedError";
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super(503, "overloaded_error", message, options);
  }
}

/** 502: the upstream answered with an error the gateway cannot attribute to the client. */
export class UpstreamError extends GatewayError {
  override name = "UpstreamError";
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super(502, "upstream_error", message, options);
  }
}

/** 504: the upstream did not answer in time. */
export class UpstreamTimeoutError extends GatewayError {
  override name = "UpstreamTimeoutError";
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super(504, "timeout_error", message, options);
  }
}

/**
 * 429: a hard cost budget of the tenant or agent is exhausted until its window resets. 429 rather than 402 because
 * OpenAI answers an exhausted quota with 429 `insufficient_quota` and clients already handle it; `x-should-retry:
 * false` stops the OpenAI SDKs from retrying a request that cannot succeed before `Retry-After`.
 */
export class BudgetExceededError extends GatewayError {
  override name = "BudgetExceededError";
  /** The budget's scope, e.g. `tenant:acme` or `agent:acme/research`. */
  readonly scope?: string;
  constructor(message: string, options: GatewayErrorOptions & { scope?: string } = {}) {
    super(429, "insufficient_quota", message, {
      code: "budget_exceeded",
      ...options,
      headers: { "x-should-retry": "false", ...options.headers },
    });
    this.scope = options.scope;
  }
}

/** 499 (nginx's convention): the client closed the connection before the answer; only metrics and logs see it. */
export class ClientClosedError extends GatewayError {
  override name = "ClientClosedError";
  constructor() {
    super(499, "client_closed_request", "the client closed the request before the answer was ready");
  }
}
