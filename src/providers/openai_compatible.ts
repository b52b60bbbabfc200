/**
 * A provider for any OpenAI-compatible `/v1/chat/completions` upstream (OpenAI, Azure-style proxies, vLLM,
 * Ollama, LiteLLM, TGI). Connections are pooled and kept alive through one `Deno.HttpClient` per upstream;
 * streams are passed through chunk by chunk; upstream failures become {@linkcode ProviderError}s.
 *
 * @module
 */
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from "../gateway/chat_schema.ts";
import type { OpenAiUpstreamConfig } from "./config.ts";
import { type CallOptions, parseRetryAfter, type Provider, ProviderError } from "./types.ts";
import { parseSse } from "./sse.ts";
import { abortWith } from "../gateway/signals.ts";
import { Deadlines } from "../resilience/deadlines.ts";

/** An OpenAI-compatible upstream. */
export class OpenAiCompatibleProvider implements Provider {
  readonly name: string;
  #config: OpenAiUpstreamConfig;
  #client: Deno.HttpClient;
  #url: string;
  /** The whole-request timeouts of non-streaming calls: one timer for all of them, not one per call. */
  #timeouts: Deadlines;

  constructor(name: string, config: OpenAiUpstreamConfig) {
    this.name = name;
    this.#config = config;
    this.#url = `${config.baseUrl.replace(/\/+$/, "")}/chat/completions`;
    this.#client = Deno.createHttpClient({
      poolMaxIdlePerHost: config.poolMaxIdlePerHost,
      poolIdleTimeout: config.poolIdleTimeoutMs,
    });
    this.#timeouts = new Deadlines(config.timeoutMs);
  }

  async complete(request: ChatRequest, options: CallOptions): Promise<ChatCompletion> {
    const ctrl = new AbortController();
    const unlink = abortWith(ctrl, [options.signal]);
    const cancelTimeout = this.#timeouts.add(() =>
      ctrl.abort(new DOMException(`no answer within ${this.#config.timeoutMs} ms`, "TimeoutError"))
    );
    const signal = ctrl.signal;
    try {
      const response = await this.#post({ ...request, model: options.upstreamModel, stream: false }, signal);
      try {
        return await response.json() as ChatCompletion;
      } catch (err) {
        throw this.#transportError(err, signal);
      }
    } finally {
      cancelTimeout();
      unlink();
    }
  }

  async stream(request: ChatRequest, options: CallOptions): Promise<AsyncIterable<ChatCompletionChunk>> {
    // Ask for usage even when the client did not, so cost is exact; the gateway drops that chunk for such a client.
    const body = {
      ...request,
      model: options.upstreamModel,
      stream: true,
      stream_options: { ...(request.stream_options ?? {}), include_usage: true },
    };
    const response = await this.#post(body, options.signal);
    const events = parseSse(response.body!, options.signal);
    return (async function* () {
      for await (const data of events) {
        if (data === "[DONE]") return;
        let chunk: ChatCompletionChunk;
        try {
          chunk = JSON.parse(data);
        } catch {
          throw new ProviderError("upstream sent a stream event that is not JSON", { status: 502, retryable: false });
        }
        if ((chunk as { error?: unknown }).error) {
          throw new ProviderError("upstream reported an error mid-stream", { status: 502, retryable: false });
        }
        yield chunk;
      }
    })();
  }

  close(): void {
    this.#timeouts.close();
    this.#client.close();
  }

  async #post(body: unknown, signal: AbortSignal): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(this.#url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(this.#config.apiKey ? { authorization: `Bearer ${this.#config.apiKey}` } : {}),
        },
        body: JSON.stringify(body),
        signal,
        client: this.#client,
      });
    } catch (err) {
      throw this.#transportError(err, signal);
    }
    if (response.ok) return response;
    const text = await response.text().catch(() => "");
    let message = text.slice(0, 500);
    try {
      message = JSON.parse(text)?.error?.message ?? message;
    } catch { /* not JSON: keep the text */ }
    throw new ProviderError(`upstream ${this.name} answered ${response.status}`, {
      status: response.status,
      retryAfterMs: parseRetryAfter(response.headers.get("retry-after")),
      upstreamMessage: message,
    });
  }

  #transportError(err: unknown, signal: AbortSignal): ProviderError {
    if (err instanceof ProviderError) return err;
    const timedOut = signal.aborted && (signal.reason as Error)?.name === "TimeoutError";
    return new ProviderError(
      timedOut ? `upstream ${this.name} timed out` : `cannot reach upstream ${this.name}`,
      { status: timedOut ? 504 : 0, cause: err },
    );
  }
}
