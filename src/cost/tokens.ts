/**
 * Token counts of a call: the provider's `usage` when it reported one, else an estimate with `gpt-tokenizer`
 * (the o200k encoding of gpt-4o; other vendors' tokenizers differ by a few percent, hence the `estimated` flag).
 *
 * @module
 */
import { countTokens, encodeChat } from "gpt-tokenizer";
import type { ChatCompletion, ChatRequest, Usage } from "../gateway/chat_schema.ts";
import { messageText } from "../gateway/chat_schema.ts";
import type { TokenCounts } from "./prices.ts";

/** Token counts and whether they were estimated. */
export interface CountedTokens extends TokenCounts {
  estimated: boolean;
}

/** Tokens from a provider's usage object, or undefined when it has none usable. */
export function tokensFromUsage(usage: Usage | undefined): TokenCounts | undefined {
  if (!usage) return undefined;
  const input = usage.prompt_tokens;
  const output = usage.completion_tokens;
  if (!Number.isFinite(input) || !Number.isFinite(output) || input < 0 || output < 0) return undefined;
  const details = usage.prompt_tokens_details as { cached_tokens?: unknown } | undefined;
  const cached = typeof details?.cached_tokens === "number" ? details.cached_tokens : 0;
  return { input, output, ...(cached > 0 ? { cachedInput: cached } : {}) };
}

const CHAT_ROLES = new Set(["system", "user", "assistant", "developer"]);

/** Estimated prompt tokens of a request (messages in the chat format, plus tool definitions as JSON). */
export function estimatePromptTokens(request: ChatRequest): number {
  const chat = request.messages.map((m) => ({
    // The tokenizer's chat format knows these roles; tool results are framed like user turns.
    role: CHAT_ROLES.has(m.role) ? m.role : "user",
    content: messageText(m) + (m.tool_calls ? JSON.stringify(m.tool_calls) : ""),
  }));
  let tokens = encodeChat(chat, "gpt-4o").length;
  if (request.tools?.length) tokens += countTokens(JSON.stringify(request.tools));
  return tokens;
}

/** Estimated completion tokens of an answer (every choice's text and tool calls). */
export function estimateCompletionTokens(completion: ChatCompletion): number {
  let tokens = 0;
  for (const choice of completion.choices) {
    const text = choice.message.content ?? "";
    if (text) tokens += countTokens(text);
    if (choice.message.tool_calls?.length) tokens += countTokens(JSON.stringify(choice.message.tool_calls));
  }
  return tokens;
}

/** The tokens of a call: reported usage, or the tokenizer's estimate flagged `estimated`. */
export function countCallTokens(request: ChatRequest, completion: ChatCompletion): CountedTokens {
  const reported = tokensFromUsage(completion.usage);
  if (reported) return { ...reported, estimated: false };
  return { input: estimatePromptTokens(request), output: estimateCompletionTokens(completion), estimated: true };
}
