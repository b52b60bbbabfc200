/**
 * Converting between whole completions and streams of chunks: a cache hit or a deduplicated follower replays a
 * stored completion as SSE chunks, and a streamed upstream answer is assembled into a completion so it can be
 * priced and cached once it ended cleanly.
 *
 * @module
 */
import type { ChatCompletion, ChatCompletionChunk, Usage } from "./chat_schema.ts";

/** Splits a completion into chunks the way an OpenAI stream delivers them (role, content pieces, finish, usage). */
export function completionToChunks(
  completion: ChatCompletion,
  options: { includeUsage?: boolean; piece?: number } = {},
): ChatCompletionChunk[] {
  const piece = options.piece ?? 64;
  const base = { id: completion.id, object: "chat.completion.chunk" as const, created: completion.created };
  const chunks: ChatCompletionChunk[] = [];
  for (const choice of completion.choices) {
    chunks.push({
      ...base,
      model: completion.model,
      choices: [{ index: choice.index, delta: { role: "assistant", content: "" }, finish_reason: null }],
    });
    const text = choice.message.content ?? "";
    for (let i = 0; i < text.length; i += piece) {
      chunks.push({
        ...base,
        model: completion.model,
        choices: [{ index: choice.index, delta: { content: text.slice(i, i + piece) }, finish_reason: null }],
      });
    }
    if (choice.message.tool_calls) {
      chunks.push({
        ...base,
        model: completion.model,
        choices: [{
          index: choice.index,
          delta: { tool_calls: choice.message.tool_calls.map((call, index) => ({ index, ...(call as object) })) },
          finish_reason: null,
        }],
      });
    }
    chunks.push({
      ...base,
      model: completion.model,
      choices: [{ index: choice.index, delta: {}, finish_reason: choice.finish_reason ?? "stop" }],
    });
  }
  if (options.includeUsage && completion.usage) {
    chunks.push({ ...base, model: completion.model, choices: [], usage: completion.usage });
  }
  return chunks;
}

/** Collects streamed chunks into the completion they add up to. */
export class CompletionAssembler {
  #id = "";
  #created = 0;
  #model = "";
  #fingerprint: string | null | undefined;
  #choices = new Map<number, { content: string; toolCalls: unknown[]; finish: string | null }>();
  #usage: Usage | undefined;
  #finished = false;

  /** Adds one chunk. */
  add(chunk: ChatCompletionChunk): void {
    this.#id ||= chunk.id;
    this.#created ||= chunk.created;
    this.#model ||= chunk.model;
    if (chunk.system_fingerprint !== undefined) this.#fingerprint = chunk.system_fingerprint;
    if (chunk.usage) this.#usage = chunk.usage;
    for (const c of chunk.choices ?? []) {
      let acc = this.#choices.get(c.index);
      if (!acc) this.#choices.set(c.index, acc = { content: "", toolCalls: [], finish: null });
      if (typeof c.delta?.content === "string") acc.content += c.delta.content;
      if (Array.isArray(c.delta?.tool_calls)) mergeToolCallDeltas(acc.toolCalls, c.delta.tool_calls);
      if (c.finish_reason) {
        acc.finish = c.finish_reason;
        this.#finished = true;
      }
    }
  }

  /** Whether at least one choice reported a finish reason (a stream cut short never does). */
  get finished(): boolean {
    return this.#finished;
  }

  /** The usage the stream reported, if any. */
  get usage(): Usage | undefined {
    return this.#usage;
  }

  /** The assembled completion. */
  completion(): ChatCompletion {
    const choices = [...this.#choices.entries()].sort((a, b) => a[0] - b[0]).map(([index, c]) => ({
      index,
      message: {
        role: "assistant" as const,
        content: c.content,
        ...(c.toolCalls.length ? { tool_calls: c.toolCalls } : {}),
      },
      finish_reason: c.finish,
    }));
    return {
      id: this.#id,
      object: "chat.completion",
      created: this.#created,
      model: this.#model,
      choices,
      ...(this.#usage ? { usage: this.#usage } : {}),
      ...(this.#fingerprint !== undefined ? { system_fingerprint: this.#fingerprint } : {}),
    };
  }
}

interface ToolCallDelta {
  index?: number;
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}

/** Streams send tool calls as deltas keyed by `index`: the id and name once, the arguments in pieces. */
function mergeToolCallDeltas(into: unknown[], deltas: unknown[]): void {
  for (const raw of deltas as ToolCallDelta[]) {
    const index = typeof raw.index === "number" ? raw.index : into.length;
    const call = (into[index] ??= { id: "", type: "function", function: { name: "", arguments: "" } }) as {
      id: string;
      type: string;
      function: { name: string; arguments: string };
    };
    if (raw.id) call.id = raw.id;
    if (raw.type) call.type = raw.type;
    if (raw.function?.name) call.function.name += raw.function.name;
    if (raw.function?.arguments) call.function.arguments += raw.function.arguments;
  }
}
