/**
 * An embedder backed by any OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, Ollama, vLLM, TEI, LiteLLM).
 * Batches are sent as one request; vectors are normalised here because not every server does.
 *
 * @module
 */
import { type Embedder, normalize } from "./types.ts";

/** Options for {@linkcode OpenAIEmbedder}. */
export interface OpenAIEmbedderOptions {
  /** Base URL up to and including `/v1`, e.g. `https://api.openai.com/v1`. */
  baseUrl: string;
  apiKey?: string;
  model: string;
  /** Vector length the model returns (checked on every answer). */
  dimension: number;
  /** Per-request timeout in ms. */
  timeoutMs?: number;
  /** Texts per request at most. */
  maxBatch?: number;
}

/** Embeddings from an OpenAI-compatible HTTP endpoint. */
export class OpenAIEmbedder implements Embedder {
  readonly name: string;
  readonly dimension: number;
  #options: OpenAIEmbedderOptions;

  constructor(options: OpenAIEmbedderOptions) {
    this.#options = options;
    this.name = `openai:${options.model}`;
    this.dimension = options.dimension;
  }

  async embed(texts: string[]): Promise<number[][]> {
    const max = this.#options.maxBatch ?? 256;
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i += max) out.push(...await this.#request(texts.slice(i, i + max)));
    return out;
  }

  async #request(texts: string[]): Promise<number[][]> {
    if (texts.length === 0) return [];
    const url = `${this.#options.baseUrl.replace(/\/+$/, "")}/embeddings`;
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.#options.apiKey) headers.authorization = `Bearer ${this.#options.apiKey}`;
    const res = await fetch(url, {
      method: "POST",
      headers,
      body: JSON.stringify({ model: this.#options.model, input: texts }),
      signal: AbortSignal.timeout(this.#options.timeoutMs ?? 10_000),
    });
    if (!res.ok) {
      const detail = (await res.text().catch(() => "")).slice(0, 200);
      throw new Error(`embeddings endpoint answered ${res.status}: ${detail}; check cache.openaiEmbedder settings`);
    }
    const body = await res.json() as { data?: { index?: number; embedding?: number[] }[] };
    if (!Array.isArray(body.data) || body.data.length !== texts.length) {
      throw new Error(`embeddings endpoint returned ${body.data?.length ?? 0} vectors for ${texts.length} texts`);
    }
    const sorted = [...body.data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    return sorted.map((d) => {
      if (!Array.isArray(d.embedding) || d.embedding.length !== this.dimension) {
        throw new Error(
          `embeddings endpoint returned a ${d.embedding?.length ?? 0}-d vector, expected ${this.dimension}; ` +
            "set cache.openaiEmbedder.dimension to match the model",
        );
      }
      return normalize(d.embedding);
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
