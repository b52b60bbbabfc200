/**
 * The simulated provider: the embedded default upstream. Models `sim-*` answer in the OpenAI shape with a text
 * derived deterministically from the conversation (so a test can tell whose answer it got), with a realistic
 * latency profile (time to first token + tokens per second + jitter), `usage` counts, and failure injection
 * (error rate, 429 rate, hang) that can be changed at run time through `PUT /admin/sim`.
 *
 * @module
 */
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from "../gateway/chat_schema.ts";
import { messageText } from "../gateway/chat_schema.ts";
import { type SimModelConfig, simModelSchema } from "./config.ts";
import { type CallOptions, type Provider, ProviderError } from "./types.ts";

const VOCABULARY = (
  "the a of to and in is for on that with as by this it be are from or at an which can will more data model " +
  "result answer system value agent cache request first second time cost scale load test metric rate latency " +
  "user query response plan step context token memory index vector search return check note example case"
).split(" ");

/** A 64-bit FNV-1a hash of a string, as 16 hex digits. */
export function fingerprint(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, "0");
}

/** A small seeded PRNG (mulberry32), so jitter and failure draws are reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Run-time changes to a simulated model (the body of `PUT /admin/sim`, already validated). */
export interface SimPatch {
  model?: string;
  latency_ms?: number;
  jitter_ms?: number;
  tokens_per_second?: number;
  error_rate?: number;
  rate_limit_rate?: number;
  hang?: boolean;
  completion_tokens?: number;
}

/** Counts of calls the simulated provider answered, for tests and the admin route. */
export interface SimStats {
  calls: number;
  byModel: Record<string, number>;
}

/** The simulated provider. */
export class SimulatedProvider implements Provider {
  readonly name: string;
  /**
   * The embedded simulator's models behave as upstreams of their own (breaking one must not take the others
   * down); a routing deployment serves one model and is its own domain.
   */
  readonly failureDomain: "provider" | "model";
  #models: Map<string, SimModelConfig>;
  #random: () => number;
  #stats: SimStats = { calls: 0, byModel: {} };
  #fallbackModel: string;

  /**
   * `fallbackModel` names the profile that models without their own profile get (default `sim-small`); a
   * simulated deployment has one profile and serves every model routed to it with it.
   */
  constructor(
    models: Record<string, SimModelConfig>,
    options: { seed?: number; name?: string; fallbackModel?: string; failureDomain?: "provider" | "model" } = {},
  ) {
    this.name = options.name ?? "sim";
    this.failureDomain = options.failureDomain ?? "model";
    this.#models = new Map(Object.entries(models));
    this.#random = mulberry32(options.seed ?? 1);
    this.#fallbackModel = options.fallbackModel ?? "sim-small";
  }

  /** Whether this provider serves the model: every `sim-*` name (unknown ones get the `sim-small` profile). */
  serves(model: string): boolean {
    return model.startsWith("sim-");
  }

  /** The names of the configured simulated models. */
  models(): string[] {
    return [...this.#models.keys()];
  }

  /** The current profile of a model. */
  profile(model: string): SimModelConfig {
    return this.#models.get(model) ?? this.#models.get(this.#fallbackModel) ?? simModelSchema.parse({});
  }

  /** Applies a run-time patch to one model, or to all when `model` is absent; returns the patched models. */
  patch(patch: SimPatch): string[] {
    const targets = patch.model ? [patch.model] : [...this.#models.keys()];
    for (const name of targets) {
      const current = this.profile(name);
      this.#models.set(name, {
        ...current,
        ...(patch.latency_ms !== undefined ? { ttftMs: patch.latency_ms } : {}),
        ...(patch.jitter_ms !== undefined ? { jitterMs: patch.jitter_ms } : {}),
        ...(patch.tokens_per_second !== undefined ? { tokensPerSecond: patch.tokens_per_second } : {}),
        ...(patch.error_rate !== undefined ? { errorRate: patch.error_rate } : {}),
        ...(patch.rate_limit_rate !== undefined ? { rateLimitRate: patch.rate_limit_rate } : {}),
        ...(patch.hang !== undefined ? { hang: patch.hang } : {}),
        ...(patch.completion_tokens !== undefined ? { completionTokens: patch.completion_tokens } : {}),
      });
    }
    return targets;
  }

  /** Call counts so far. */
  stats(): SimStats {
    return structuredClone(this.#stats);
  }

  async complete(request: ChatRequest, options: CallOptions): Promise<ChatCompletion> {
    const profile = this.#begin(options.upstreamModel);
    const answer = this.#answer(request, options.upstreamModel, profile);
    await this.#failOrWait(profile, profile.ttftMs + this.#jitter(profile) + decodeMs(answer.tokens, profile), options);
    return {
      id: answer.id,
      object: "chat.completion",
      created: answer.created,
      model: options.upstreamModel,
      choices: answer.texts.map((text, index) => ({
        index,
        message: { role: "assistant", content: text, refusal: null },
        finish_reason: answer.finish,
        logprobs: null,
      })),
      usage: answer.usage,
      system_fingerprint: "fp_amas_sim",
    };
  }

  async stream(request: ChatRequest, options: CallOptions): Promise<AsyncIterable<ChatCompletionChunk>> {
    const profile = this.#begin(options.upstreamModel);
    const answer = this.#answer(request, options.upstreamModel, profile);
    await this.#failOrWait(profile, profile.ttftMs + this.#jitter(profile), options);
    const base = { id: answer.id, object: "chat.completion.chunk" as const, created: answer.created };
    const model = options.upstreamModel;
    return (async function* () {
      for (const [index, text] of answer.texts.entries()) {
        yield { ...base, model, choices: [{ index, delta: { role: "assistant", content: "" }, finish_reason: null }] };
        const words = text.split(/(?<= )/);
        // Tokens arrive in bursts every ~10 ms, as real decoders flush; one timer per burst, not per token.
        const perBurst = Math.max(1, Math.round(profile.tokensPerSecond / 100));
        for (let i = 0; i < words.length; i += perBurst) {
          if (i > 0) await sleep(decodeMs(perBurst, profile), options.signal);
          yield {
            ...base,
            model,
            choices: [{ index, delta: { content: words.slice(i, i + perBurst).join("") }, finish_reason: null }],
          };
        }
        yield { ...base, model, choices: [{ index, delta: {}, finish_reason: answer.finish }] };
      }
      // Always report usage, as OpenAI does with include_usage; the gateway drops it for clients that did not ask.
      yield { ...base, model, choices: [], usage: answer.usage };
    })();
  }

  #begin(model: string): SimModelConfig {
    this.#stats.calls++;
    this.#stats.byModel[model] = (this.#stats.byModel[model] ?? 0) + 1;
    return this.profile(model);
  }

  #jitter(profile: SimModelConfig): number {
    return profile.jitterMs > 0 ? this.#random() * profile.jitterMs : 0;
  }

  async #failOrWait(profile: SimModelConfig, waitMs: number, options: CallOptions): Promise<void> {
    if (profile.hang) {
      await sleep(Number.POSITIVE_INFINITY, options.signal);
    }
    const draw = this.#random();
    if (draw < profile.errorRate) {
      await sleep(Math.min(waitMs, profile.ttftMs), options.signal);
      throw new ProviderError("simulated upstream error", { status: 500, upstreamMessage: "simulated failure" });
    }
    if (draw < profile.errorRate + profile.rateLimitRate) {
      throw new ProviderError("simulated upstream rate limit", { status: 429, retryAfterMs: 1000 });
    }
    await sleep(waitMs, options.signal);
  }

  #answer(request: ChatRequest, model: string, profile: SimModelConfig) {
    const conversation = JSON.stringify(request.messages.map((m) => [m.role, messageText(m)]));
    const fp = fingerprint(`${model}\n${conversation}`);
    const lastUser = [...request.messages].reverse().find((m) => m.role === "user");
    const topic = lastUser ? messageText(lastUser).replace(/\s+/g, " ").trim().slice(0, 60) : "";
    const limit = request.max_completion_tokens ?? request.max_tokens ?? Number.POSITIVE_INFINITY;
    const tokens = Math.min(profile.completionTokens, limit);
    const n = request.n ?? 1;
    const texts: string[] = [];
    for (let choice = 0; choice < n; choice++) {
      const rand = mulberry32(parseInt(fp.slice(0, 8), 16) + choice);
      const header = `[${model} ${fp}${n > 1 ? `/${choice}` : ""}] re: ${topic}.`;
      const words = [header];
      // The header counts as a handful of tokens; the rest is filler drawn from the fingerprint.
      for (let i = Math.min(tokens, 8); i < tokens; i++) words.push(VOCABULARY[Math.floor(rand() * VOCABULARY.length)]);
      texts.push(words.join(" "));
    }
    const promptTokens = estimatePromptTokens(request);
    return {
      id: `chatcmpl-sim${fp}`,
      created: Math.floor(Date.now() / 1000),
      texts,
      tokens,
      finish: tokens < profile.completionTokens ? "length" : "stop",
      usage: { prompt_tokens: promptTokens, completion_tokens: tokens * n, total_tokens: promptTokens + tokens * n },
    };
  }
}

/** About four characters a token plus a few tokens of framing per message, like OpenAI's tokenizers on English. */
function estimatePromptTokens(request: ChatRequest): number {
  let chars = 0;
  for (const m of request.messages) chars += messageText(m).length;
  return Math.ceil(chars / 4) + 3 * request.messages.length + 3;
}

function decodeMs(tokens: number, profile: SimModelConfig): number {
  return (tokens / profile.tokensPerSecond) * 1000;
}

/** Waits `ms` (forever for Infinity) unless the signal aborts first, which rejects with the signal's reason. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = Number.isFinite(ms) ? setTimeout(done, Math.max(0, ms)) : undefined;
    function done() {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(signal.reason);
    }
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
