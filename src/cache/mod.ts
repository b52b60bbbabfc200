/**
 * The semantic response cache: scope and keys, the vector index, the verifier, the cache itself and its routes.
 * See docs/CACHE.md.
 *
 * @module
 */
export {
  type AgentCacheSettings,
  type CacheStats,
  SemanticCache,
  type SemanticCacheOptions,
} from "./semantic_cache.ts";
export { cacheRoutes } from "./routes.ts";
export { type CacheKeys, cacheKeys } from "./scope.ts";
export { HnswVectorIndex, type Neighbour, type VectorIndex } from "./vector_index.ts";
export { acceptAll, analyze, RuleVerifier, type Verdict, type Verifier } from "./verifier.ts";
export { type CacheConfig, cacheConfigSchema } from "./config.ts";
