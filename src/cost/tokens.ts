/**
 * Token counts of a call: the provider's `usage` when it reported one, else an estimate with `gpt-tokenizer`
 * (the o200k encoding of gpt-4o; other vendors' tokenizers differ by a few percent, hence the `estimated` flag).
 *
 * The tokenizer's tables take ~66 MB resident, and every built-in provider reports usage (the OpenAI-compatible one
 * asks for it on streams too), so it is loaded on first need rather than at start: {@linkcode loadTokenizer}. The
 * gateway loads it during start-up when an external upstream is configured (one that may ignore the request for
 * usage); with only the simulated provider, the first estimate (a stream cut short, say) starts the load and, until it
 * is done, counts about four characters per token, flagged `estimated` like every estimate.
 *
 * @module
 */
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

type Tokenizer = Pick<typeof import("gpt-tokenizer"), "countTokens" | "encodeChat">;
let tokenizer: Tokenizer | undefined;
let loading: Promise<Tokenizer> | undefined;

/** Loads `gpt-tokenizer` once; estimates use it from then on. */
export function loadTokenizer(): Promise<Tokenizer> {
  loading ??= import("gpt-tokenizer").then((module) => (tokenizer = module), (err) => {
    loading = undefined; // a later estimate tries again
    throw err;
  });
  return loading;
}

/** Whether estimates use the tokenizer yet (rather than the characters-per-token fallback). */
export function tokenizerLoaded(): boolean {
  return tokenizer !== undefined;
}

/** The tokenizer when loaded; otherwise starts loading it and returns undefined. */
function readyTokenizer(): Tokenizer | undefined {
  if (!tokenizer) loadTokenizer().catch(() => {/* the fallback keeps counting; the next estimate retries */});
  return tokenizer;
}

/** Average characters per token of English text in the o200k encoding: the fallback while the tokenizer loads. */
const CHARS_PER_TOKEN = 4;
const roughTokens = (text: string) => Math.ceil(text.length / CHARS_PER_TOKEN);

const CHAT_ROLES = new Set(["system", "user", "assistant", "developer"]);

/** Estimated prompt tokens of a request (messages in the chat format, plus tool definitions as JSON). */
export function estimatePromptTokens(request: ChatRequest): number {
  const chat = request.messages.map((m) => ({
    // The tokenizer's chat format knows these roles; tool results are framed like user turns.
    role: CHAT_ROLES.has(m.role) ? m.role : "user",
    content: messageText(m) + (m.tool_calls ? JSON.stringify(m.tool_calls) : ""),
  }));
  const t = readyTokenizer();
  // The fallback adds the chat format's few tokens per message (role and separators) to the characters' share.
  let tokens = t ? t.encodeChat(chat, "gpt-4o").length : chat.reduce((n, m) => n + 4 + roughTokens(m.content), 3);
  if (request.tools?.length) {
    const tools = JSON.stringify(request.tools);
    tokens += t ? t.countTokens(tools) : roughTokens(tools);
  }
  return tokens;
}

/** Estimated completion tokens of an answer (every choice's text and tool calls). */
export function estimateCompletionTokens(completion: ChatCompletion): number {
  const count = readyTokenizer()?.countTokens ?? roughTokens;
  let tokens = 0;
  for (const choice of completion.choices) {
    const text = choice.message.content ?? "";
    if (text) tokens += count(text);
    if (choice.message.tool_calls?.length) tokens += count(JSON.stringify(choice.message.tool_calls));
  }
  return tokens;
}

/** The tokens of a call: reported usage, or the tokenizer's estimate flagged `estimated`. */
export function countCallTokens(request: ChatRequest, completion: ChatCompletion): CountedTokens {
  const reported = tokensFromUsage(completion.usage);
  if (reported) return { ...reported, estimated: false };
  return { input: estimatePromptTokens(request), output: estimateCompletionTokens(completion), estimated: true };
}
