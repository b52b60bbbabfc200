/**
 * Cache scope and keys. A cached answer may only be served to a request with the same scope: tenant, agent,
 * model, every parameter that changes the answer (temperature and max_tokens by class, the rest verbatim: seed,
 * n, stop, top_p, tools, response_format, …) and the conversation before the last user turn (so a different
 * earlier conversation is a different scope, never a near neighbour). Inside a scope, the exact key adds the last
 * user turn (whitespace-normalised); the semantic text is that turn's text.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { ChatCall } from "../gateway/stages.ts";
import type { ChatMessage, ChatRequest } from "../gateway/chat_schema.ts";
import { canonicalJson } from "../gateway/request_key.ts";

/** Request fields that do not change the answer, or that are accounted for separately. */
const NOT_IN_PARAMS = new Set([
  "model",
  "messages",
  "stream",
  "stream_options",
  "user",
  "temperature",
  "max_tokens",
  "max_completion_tokens",
]);

/** Above this many characters the last turn is only cached exactly (embedding would truncate it). */
export const MAX_SEMANTIC_CHARS = 2000;

/** The keys of a cacheable call. */
export interface CacheKeys {
  /** Hash of tenant, agent, model, answer-changing parameters and the earlier conversation. */
  scopeKey: string;
  /** Hash of the scope and the normalised last user turn. */
  exactKey: string;
  /** Text to embed for semantic lookups; absent when the turn is not plain text or too long. */
  semanticText?: string;
}

/** Why a call is not served from (nor stored in) the cache. */
export type NotCacheable = { reason: "tool_call_in_flight" | "no_user_turn" };

/** 128-bit hex digest. */
export function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}

/** Collapses runs of whitespace and trims. */
export function normalizeText(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** The temperature class: answers within a class are interchangeable. */
export function temperatureClass(t: number | null | undefined): string {
  if (t === null || t === undefined) return "default";
  if (t === 0) return "0";
  if (t <= 0.3) return "low";
  if (t <= 0.7) return "mid";
  if (t <= 1) return "high";
  return "very-high";
}

/** The max_tokens class (powers of four), so 500 and 600 share answers but 50 and 4000 do not. */
export function maxTokensClass(n: number | null | undefined): string {
  if (n === null || n === undefined) return "default";
  let bound = 16;
  while (bound < n && bound < 65_536) bound *= 4;
  return n > bound ? "huge" : `<=${bound}`;
}

function normalizeMessage(m: ChatMessage): unknown {
  return { ...m, content: typeof m.content === "string" ? normalizeText(m.content) : m.content };
}

/** The plain text of a message when every part is text; undefined when it holds images or other parts. */
function plainText(m: ChatMessage): string | undefined {
  if (typeof m.content === "string") return m.content;
  if (!Array.isArray(m.content)) return undefined;
  const texts: string[] = [];
  for (const part of m.content) {
    if (part.type !== "text" || typeof part.text !== "string") return undefined;
    texts.push(part.text);
  }
  return texts.join("\n");
}

/** The scope-relevant parameters of a request, canonical. */
export function scopeParams(request: ChatRequest): string {
  const params: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(request)) if (!NOT_IN_PARAMS.has(k) && v !== null) params[k] = v;
  params.temperature = temperatureClass(request.temperature);
  params.max_tokens = maxTokensClass(request.max_tokens ?? request.max_completion_tokens);
  return canonicalJson(params);
}

/**
 * The keys of a call, or why it may not use the cache. Tool calls in flight (the last message is a tool result or
 * an assistant turn) are never cached: the answer depends on live tool output.
 */
export function cacheKeys(call: Pick<ChatCall, "tenant" | "agentId" | "request">): CacheKeys | NotCacheable {
  const messages = call.request.messages;
  const last = messages[messages.length - 1];
  if (!last) return { reason: "no_user_turn" };
  if (last.role === "tool" || last.role === "function" || last.role === "assistant") {
    return { reason: "tool_call_in_flight" };
  }
  if (last.role !== "user") return { reason: "no_user_turn" };
  const earlier = canonicalJson(messages.slice(0, -1).map(normalizeMessage));
  const scopeKey = digest(
    [
      "scope:v1",
      `${call.tenant.length}:${call.tenant}`,
      `${call.agentId.length}:${call.agentId}`,
      `${call.request.model.length}:${call.request.model}`,
      scopeParams(call.request),
      digest(earlier),
    ].join("|"),
  );
  const exactKey = digest(`exact:v1|${scopeKey}|${canonicalJson(normalizeMessage(last))}`);
  const text = plainText(last);
  const semanticText = text === undefined ? undefined : normalizeText(text);
  return {
    scopeKey,
    exactKey,
    semanticText: semanticText && semanticText.length <= MAX_SEMANTIC_CHARS ? semanticText : undefined,
  };
}
