/**
 * Embedders for the semantic cache, chosen by configuration (`AMAS_EMBEDDER`): `use-lite` (offline default,
 * Universal Sentence Encoder lite in Web Workers), `openai` (any OpenAI-compatible `/v1/embeddings`), `hash`
 * (deterministic, for tests only). No embedder downloads weights at run time.
 *
 * @module
 */
import type { CacheConfig } from "../cache/config.ts";
import type { Embedder } from "./types.ts";
import { HashEmbedder } from "./hash_embedder.ts";
import { OpenAIEmbedder } from "./openai_embedder.ts";
import { UseLiteEmbedder } from "./use_lite.ts";

export type { Embedder } from "./types.ts";
export { dot, embedderId, normalize } from "./types.ts";
export { HashEmbedder } from "./hash_embedder.ts";
export { OpenAIEmbedder } from "./openai_embedder.ts";
export { UseLiteEmbedder } from "./use_lite.ts";

/** Where the `openai` embedder falls back to for its endpoint and key. */
export interface EmbedderDefaults {
  openaiBaseUrl?: string;
  openaiApiKey?: string;
}

/** Builds the configured embedder. */
export function createEmbedder(
  config: Pick<CacheConfig, "embedder" | "embedWorkers" | "embedBatch" | "openai">,
  defaults: EmbedderDefaults = {},
): Embedder {
  switch (config.embedder) {
    case "hash":
      return new HashEmbedder();
    case "openai":
      return new OpenAIEmbedder({
        baseUrl: config.openai.baseUrl ?? defaults.openaiBaseUrl ?? "https://api.openai.com/v1",
        apiKey: config.openai.apiKey ?? defaults.openaiApiKey,
        model: config.openai.model,
        dimension: config.openai.dimension,
        timeoutMs: config.openai.timeoutMs,
      });
    case "use-lite":
      return new UseLiteEmbedder({ workers: config.embedWorkers, maxBatch: config.embedBatch });
  }
}
