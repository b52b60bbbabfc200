/**
 * `POST /v1/chat/completions`: parse and validate, hand the call to the `ChatService`, shape the answer as JSON
 * or as server-sent events, and set the gateway's response headers.
 *
 * @module
 */
import type { Context } from "hono";
import type { GatewayEnv } from "../context.ts";
import { type ChatCompletionChunk, type ChatRequest, chatRequestSchema } from "../../gateway/chat_schema.ts";
import type { ChatOutcome, ChatService } from "../../gateway/chat_service.ts";
import type { CacheMode, ChatCall } from "../../gateway/stages.ts";
import { InvalidRequestError } from "../../errors.ts";
import { sseEvent } from "../../providers/sse.ts";
import { errorBody, toGatewayError } from "../errors.ts";
import type { Logger } from "../../log.ts";
import { parseJsonBody, zodIssueToError } from "../validation.ts";
import { abortWith } from "../../gateway/signals.ts";

const AGENT_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;
const CACHE_MODES = new Set<CacheMode>(["default", "bypass", "refresh", "exact-only"]);

/** The agent id of a request (`x-amas-agent`, default `default`); 400 when malformed. */
export function agentIdOf(header: string | undefined): string {
  if (header === undefined || header === "") return "default";
  if (!AGENT_ID.test(header)) {
    throw new InvalidRequestError("x-amas-agent must be 1-128 characters of letters, digits and _.:@-", {
      param: "x-amas-agent",
    });
  }
  return header;
}

/** The cache mode of a request (`x-amas-cache`); 400 for an unknown mode. */
export function cacheModeOf(header: string | undefined): CacheMode {
  if (header === undefined || header === "") return "default";
  const mode = header.toLowerCase() as CacheMode;
  if (!CACHE_MODES.has(mode)) {
    throw new InvalidRequestError("x-amas-cache must be one of default, bypass, refresh, exact-only", {
      param: "x-amas-cache",
    });
  }
  return mode;
}

/** Dependencies of the chat route. */
export interface ChatRouteDeps {
  service: ChatService;
  logger: Logger;
  /** Aborted when the gateway gives up on in-flight work during shutdown. */
  shutdownSignal: AbortSignal;
}

/** The chat-completions handler. */
export function chatCompletions(deps: ChatRouteDeps) {
  // The calls in flight, aborted together when shutdown gives up on them: one listener on the shutdown signal for
  // all of them, instead of one added and removed per request.
  const inFlight = new Set<AbortController>();
  const onShutdown = () => {
    for (const controller of inFlight) controller.abort(deps.shutdownSignal.reason);
  };
  if (!deps.shutdownSignal.aborted) deps.shutdownSignal.addEventListener("abort", onShutdown, { once: true });
  return async function chatCompletions(c: Context<GatewayEnv>): Promise<Response> {
    const agentId = agentIdOf(c.req.header("x-amas-agent"));
    c.set("agentId", agentId);
    const cacheMode = cacheModeOf(c.req.header("x-amas-cache"));
    const parsed = chatRequestSchema.safeParse(await parseJsonBody(c));
    if (!parsed.success) throw zodIssueToError(parsed.error);
    const request: ChatRequest = parsed.data;

    // Aborted when the client goes away, when shutdown gives up on in-flight work, or when a stream is cancelled;
    // the listeners go once the response body is done.
    const controller = new AbortController();
    const unlink = abortWith(controller, [c.req.raw.signal]);
    if (deps.shutdownSignal.aborted) controller.abort(deps.shutdownSignal.reason);
    inFlight.add(controller);
    c.get("onBodyDone").push(() => {
      unlink();
      inFlight.delete(controller);
    });
    const signal = controller.signal;
    const call: ChatCall = {
      request,
      tenant: c.get("tenant"),
      agentId,
      cacheMode,
      requestId: c.get("requestId"),
      signal,
      timing: c.get("timing"),
    };
    const outcome = await deps.service.handle(call);
    const headers: Record<string, string> = { "x-amas-cache": outcome.cache };
    if (outcome.similarity !== undefined) headers["x-amas-cache-similarity"] = outcome.similarity.toFixed(4);
    if (outcome.inFlight) headers["x-amas-cache-in-flight"] = "true";
    if (outcome.stale) headers["x-amas-stale"] = "true";
    if (outcome.rateLimit) {
      headers["ratelimit-limit"] = String(outcome.rateLimit.limit);
      headers["ratelimit-remaining"] = String(outcome.rateLimit.remaining);
      headers["ratelimit-reset"] = String(outcome.rateLimit.resetSeconds);
      if (outcome.rateLimit.policy) headers["ratelimit-policy"] = outcome.rateLimit.policy;
    }

    if (outcome.completion) {
      const cost = await outcome.cost;
      if (cost) headers["x-amas-cost-usd"] = cost.costUsd.toFixed(8);
      // The upstream reported no usage: the tokens behind the cost were counted with a tokenizer.
      if (cost?.estimated) headers["x-amas-cost-estimated"] = "true";
      if (cost?.unpriced) headers["x-amas-cost-unpriced"] = "true";
      headers["server-timing"] = call.timing.header();
      headers["content-type"] = "application/json";
      // What `c.json` sends, without Hono copying the headers into a `Headers` object first.
      return new Response(JSON.stringify(outcome.completion), { status: 200, headers });
    }
    // Stream headers leave before a streamed upstream answer is priced: its cost follows at the end of the stream
    // (SSE comment, and `amas_cost_usd` on the usage chunk). Cache hits and whole answers are priced already.
    const known = await settledNow(outcome.cost);
    if (known === PENDING) headers["x-amas-cost-usd"] = "pending";
    else if (known) headers["x-amas-cost-usd"] = known.costUsd.toFixed(8);
    headers["server-timing"] = call.timing.header();
    headers["content-type"] = "text/event-stream; charset=utf-8";
    headers["cache-control"] = "no-cache";
    headers["x-accel-buffering"] = "no";
    return new Response(sseBody(outcome, request, call, deps.logger, controller), { status: 200, headers });
  };
}

/** Streams the chunks as SSE; an error after the first byte becomes an error event (the status is already sent). */
function sseBody(
  outcome: ChatOutcome,
  request: ChatRequest,
  call: ChatCall,
  logger: Logger,
  controller: AbortController,
): ReadableStream<Uint8Array> {
  const includeUsage = request.stream_options?.include_usage === true;
  const iterator = outcome.chunks![Symbol.asyncIterator]();
  // The usage chunk waits for the end of the stream so it can carry the request's cost.
  let usageChunk: ChatCompletionChunk | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(stream) {
      try {
        while (true) {
          const { value, done } = await iterator.next();
          if (done) {
            const cost = await outcome.cost;
            if (usageChunk) {
              stream.enqueue(sseEvent(cost ? { ...usageChunk, amas_cost_usd: cost.costUsd } : usageChunk));
            }
            if (cost) stream.enqueue(new TextEncoder().encode(`: x-amas-cost-usd=${cost.costUsd.toFixed(8)}\n\n`));
            stream.enqueue(sseEvent("[DONE]"));
            stream.close();
            return;
          }
          // Usage arrives in a chunk of its own; only clients that asked for it get it, as with OpenAI.
          if (value.usage && value.choices.length === 0) {
            if (includeUsage) usageChunk = value;
            continue;
          }
          stream.enqueue(sseEvent(value));
          return;
        }
      } catch (err) {
        const gatewayError = toGatewayError(err);
        logger.warn("stream failed", { requestId: call.requestId, status: gatewayError.status, err: String(err) });
        stream.enqueue(sseEvent(errorBody(gatewayError)));
        stream.close();
      }
    },
    async cancel() {
      controller.abort(new DOMException("the client closed the stream", "AbortError"));
      await iterator.return?.();
    },
  });
}

const PENDING = Symbol("pending");

/** The value of a promise that has already settled, or `PENDING`, without waiting for anything else. */
function settledNow<T>(promise: Promise<T>): Promise<T | typeof PENDING> {
  // An already-settled promise's reaction is queued before the second one's, so it wins the race.
  return Promise.race([promise, Promise.resolve(PENDING)]);
}
