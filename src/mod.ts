/**
 * The library entry point: AMAS building blocks for use without HTTP.
 *
 * ```ts
 * import { getSemanticCache } from "./src/mod.ts";
 * const cache = await getSemanticCache({ redisUrl: "redis://localhost:6379", similarityThreshold: 0.85 });
 * await cache.set("What is the capital of France?", "Paris.", { agentId: "research_agent" });
 * const found = await cache.get("Which city is the capital of France?", { agentId: "research_agent", useSemantic: true });
 * // found.hit === "semantic", found.response === "Paris."
 * await cache.close();
 * ```
 *
 * @module
 */
import { parseConfig } from "./config.ts";
import { createStore } from "./store/mod.ts";
import { createEmbedder, type Embedder } from "./embed/mod.ts";
import { type CacheStats, SemanticCache } from "./cache/semantic_cache.ts";
import type { ChatCompletion } from "./gateway/chat_schema.ts";

export { type CacheStats, SemanticCache } from "./cache/semantic_cache.ts";
export type { Embedder } from "./embed/mod.ts";
export { HashEmbedder, OpenAIEmbedder, UseLiteEmbedder } from "./embed/mod.ts";
export { RuleVerifier, type Verdict, type Verifier } from "./cache/verifier.ts";
export { HnswVectorIndex, type VectorIndex } from "./cache/vector_index.ts";
export type { CacheEntry, Store, StoreChange } from "./store/types.ts";

/** Options of {@linkcode getSemanticCache}. */
export interface SemanticCacheClientOptions {
  /** `redis://…` shared with gateways and other processes; none keeps entries in this process. */
  redisUrl?: string;
  /** Upstash REST instead of Redis. */
  upstashUrl?: string;
  upstashToken?: string;
  /** Cosine similarity a semantic hit needs (default 0.85). */
  similarityThreshold?: number;
  /** `use-lite` (default, offline), `openai`, `hash` (tests), or an embedder of your own. */
  embedder?: "use-lite" | "openai" | "hash" | Embedder;
  /** Check semantic candidates with the verifier (default true). */
  verify?: boolean;
  /** Default lifetime of entries (default one day). */
  ttlSeconds?: number;
  /** Tenant of every call unless a call names one (default `local`). Gateways use the API key's tenant. */
  tenant?: string;
  /** Directory for snapshots of the embedded memory store. */
  dataDir?: string;
}

/** Per-call options. */
export interface CallOptions {
  agentId?: string;
  tenant?: string;
  /** Entries are scoped by model; calls without one share the model-less scope. */
  model?: string;
}

/** What {@linkcode getSemanticCache} returns. */
export interface SemanticCacheClient {
  /** The stored answer of `query`, exact or semantic. */
  get(query: string, options?: CallOptions & { useSemantic?: boolean }): Promise<{
    hit: "exact" | "semantic" | null;
    similarity?: number;
    response?: string | null;
    id?: string;
  }>;
  /** Stores an answer (text or a chat completion) for `query`; resolves with the entry id once stored. */
  set(
    query: string,
    response: string | ChatCompletion,
    options?: CallOptions & { ttlSeconds?: number; costUsd?: number },
  ): Promise<{ id: string }>;
  /** Removes one entry; true when it existed. */
  delete(id: string, options?: { tenant?: string }): Promise<boolean>;
  /** Removes every entry of the tenant, or of one agent; resolves how many. */
  clear(options?: { agentId?: string; tenant?: string }): Promise<number>;
  stats(): CacheStats;
  /** The underlying cache. */
  readonly cache: SemanticCache;
  close(): Promise<void>;
}

/** Opens a semantic cache (store, embedder, index warmed from the store) for use without HTTP. */
export async function getSemanticCache(options: SemanticCacheClientOptions = {}): Promise<SemanticCacheClient> {
  const config = parseConfig({
    redisUrl: options.redisUrl,
    upstashUrl: options.upstashUrl,
    upstashToken: options.upstashToken,
    dataDir: options.dataDir,
    cache: {
      similarityThreshold: options.similarityThreshold,
      verify: options.verify,
      ttlSeconds: options.ttlSeconds,
      embedder: typeof options.embedder === "string" ? options.embedder : undefined,
    },
  });
  const embedder = typeof options.embedder === "object" ? options.embedder : createEmbedder(config.cache, {
    openaiBaseUrl: config.providers.openai.baseUrl,
    openaiApiKey: config.providers.openai.apiKey,
  });
  const store = await createStore(config);
  const cache = await SemanticCache.open({ config: config.cache, store, embedder, awaitWarm: true });
  const tenantOf = (o?: { tenant?: string }) => o?.tenant ?? options.tenant ?? "local";
  return {
    cache,
    async get(query, o = {}) {
      const found = await cache.lookupText({
        tenant: tenantOf(o),
        agentId: o.agentId ?? "default",
        query,
        model: o.model,
        useSemantic: o.useSemantic ?? true,
      });
      if (!found.entry) return { hit: null };
      return {
        hit: found.hit,
        similarity: found.similarity,
        response: found.entry.response.choices[0]?.message.content ?? null,
        id: found.entry.id,
      };
    },
    async set(query, response, o = {}) {
      const entry = await cache.putText({
        tenant: tenantOf(o),
        agentId: o.agentId ?? "default",
        query,
        response,
        model: o.model,
        ttlSeconds: o.ttlSeconds,
        costUsd: o.costUsd,
      });
      return { id: entry.id };
    },
    delete: (id, o) => cache.invalidate(id, tenantOf(o)),
    clear: (o) => cache.invalidateNamespace(tenantOf(o), o?.agentId),
    stats: () => cache.stats(),
    async close() {
      await cache.close();
      await store.close();
    },
  };
}
