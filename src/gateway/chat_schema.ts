/**
 * The OpenAI chat-completions wire format: a zod schema for requests (validated at the edge, unknown extension
 * fields passed through to the upstream) and the types of responses and stream chunks.
 *
 * @module
 */
import { z } from "zod";

const textPart = z.object({ type: z.literal("text"), text: z.string() });
const imagePart = z.object({
  type: z.literal("image_url"),
  image_url: z.object({ url: z.string().max(20_000_000), detail: z.enum(["auto", "low", "high"]).optional() }),
});
const otherPart = z.looseObject({ type: z.string().min(1) });
const contentPart = z.union([textPart, imagePart, otherPart]);

const toolCall = z.looseObject({
  id: z.string(),
  type: z.literal("function"),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

/** One message of a conversation. */
export const chatMessageSchema = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
  content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
  name: z.string().max(256).optional(),
  tool_calls: z.array(toolCall).optional(),
  tool_call_id: z.string().optional(),
}).refine((m) => m.content !== undefined || m.tool_calls !== undefined, {
  message: "a message needs content (or tool_calls for an assistant message)",
  path: ["content"],
});

/** A chat-completions request. Fields the gateway does not interpret are kept and forwarded. */
export const chatRequestSchema = z.looseObject({
  model: z.string().min(1, "model is required").max(256),
  messages: z.array(chatMessageSchema).min(1, "messages must hold at least one message").max(10_000),
  stream: z.boolean().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  n: z.number().int().min(1).max(16).nullable().optional(),
  max_tokens: z.number().int().min(1).nullable().optional(),
  max_completion_tokens: z.number().int().min(1).nullable().optional(),
  stop: z.union([z.string(), z.array(z.string()).max(4), z.null()]).optional(),
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  seed: z.number().int().nullable().optional(),
  tools: z.array(z.looseObject({ type: z.string() })).optional(),
  tool_choice: z.unknown().optional(),
  response_format: z.looseObject({ type: z.string() }).nullable().optional(),
  user: z.string().max(512).optional(),
});

/** A validated chat request. */
export type ChatRequest = z.infer<typeof chatRequestSchema>;
/** A validated chat message. */
export type ChatMessage = z.infer<typeof chatMessageSchema>;

/** Token usage as the OpenAI API reports it. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  [extra: string]: unknown;
}

/** An assistant message in a response. */
export interface AssistantMessage {
  role: "assistant";
  content: string | null;
  tool_calls?: unknown[];
  refusal?: string | null;
  [extra: string]: unknown;
}

/** A non-streaming chat completion. */
export interface ChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: { index: number; message: AssistantMessage; finish_reason: string | null; logprobs?: unknown }[];
  usage?: Usage;
  system_fingerprint?: string | null;
  [extra: string]: unknown;
}

/** One streamed chunk of a chat completion. */
export interface ChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  choices: {
    index: number;
    delta: { role?: "assistant"; content?: string | null; tool_calls?: unknown[]; [extra: string]: unknown };
    finish_reason: string | null;
    logprobs?: unknown;
  }[];
  usage?: Usage | null;
  system_fingerprint?: string | null;
  [extra: string]: unknown;
}

/** The text of a message's content, parts joined; non-text parts are ignored. */
export function messageText(message: Pick<ChatMessage, "content">): string {
  const content = message.content;
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((p) => (p.type === "text" && typeof p.text === "string" ? p.text : "")).join("\n");
}
