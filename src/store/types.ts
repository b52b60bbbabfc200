/**
 * The `Store` seam: where cache entries live beyond one process. Three implementations are chosen by
 * configuration: `memory` (embedded default, optional snapshot directory), Redis over `redis://` (node-redis) and
 * Upstash REST (`@upstash/redis`). A store also carries replication: every put/delete is published as a change,
 * and each replica applies the changes of the others to its in-process vector index.
 *
 * @module
 */
import type { ChatCompletion } from "../gateway/chat_schema.ts";

/** One cached answer. Entries are immutable once stored; a refresh stores a new entry under the same id. */
export interface CacheEntry {
  /** Stable id: derived from the exact key, so the same request always maps to the same entry. */
  id: string;
  tenant: string;
  agentId: string;
  /** Hash of everything besides the conversation that must match for a hit (model, system prompt, tools, …). */
  scopeKey: string;
  /** Hash of the scope and the whole normalized conversation: an exact hit needs this to match. */
  exactKey: string;
  /** The text that was embedded (last user turn); kept for verification of semantic candidates. */
  semanticText: string;
  /** The embedding of `semanticText`, so replicas do not embed again; absent for exact-only entries. */
  embedding?: number[];
  /** Which embedder made `embedding` (name and dimension), e.g. `use-lite/512`. */
  embedder?: string;
  response: ChatCompletion;
  /** What the original upstream call cost, for "money saved" on hits. */
  costUsd: number;
  createdAt: number;
  /** Epoch ms after which the entry must not be served. */
  expiresAt: number;
}

/**
 * Where an in-process store can read embeddings instead of keeping a copy of its own: the vector index of a cache
 * in the same process, which holds every vector it searches anyway.
 */
export interface VectorSource {
  /** Which embedder made the vectors the source holds (as in {@linkcode CacheEntry.embedder}). */
  readonly embedder: string;
  /** Whether the source holds a vector for the entry `id`. */
  has(id: string): boolean;
  /** The vector held for `id`, if any. */
  vector(id: string): ArrayLike<number> | undefined;
}

/** A change to the store, as replicas receive it. */
export type StoreChange =
  | { op: "put"; entry: CacheEntry }
  | { op: "delete"; id: string }
  | { op: "delete_namespace"; tenant: string; agentId?: string };

/** Options of {@linkcode Store.scan}. */
export interface ScanOptions {
  /**
   * Entries the caller holds vectors for already (an index restored from a snapshot): those whose id `ids` accepts
   * may come back without their embedding, which is ~3/4 of an entry's bytes. `dimension` is the length of those
   * vectors (a remote store then reads only the bytes before them).
   */
  withoutEmbedding?: { ids: (id: string) => boolean; dimension: number };
}

/**
 * Opaque values shared by the replicas through the store, beside the entries: the cache keeps its vector index
 * snapshot here (`src/cache/shared_snapshot.ts`). Keys are relative to the store's own prefix. Unlike the entry
 * operations, these reject on any failure (the caller falls back) and never mark the store degraded.
 */
export interface BlobStore {
  /**
   * How `write` stores bytes: as they are (`binary`, node-redis) or as base64 text (`base64`, REST). A reader can
   * only use bytes written with its own encoding.
   */
  readonly encoding: "binary" | "base64";
  /** Writes `value` under `key`, expiring after `ttlMs`. */
  write(key: string, value: Uint8Array | string, ttlMs: number): Promise<void>;
  /** The bytes under `key`; null when absent. */
  read(key: string): Promise<Uint8Array | null>;
  /** The text under `key` (as written from a string); null when absent. */
  readText(key: string): Promise<string | null>;
  /** Sets `key` to `owner` only when absent (a lock that expires after `ttlMs`); true when this call set it. */
  claim(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Deletes `key` when it still holds `owner`. */
  release(key: string, owner: string): Promise<void>;
  /** Makes `keys` expire after `ttlMs` (absent keys are skipped). */
  expire(keys: string[], ttlMs: number): Promise<void>;
}

/** Health of a store, for readiness and `/v1/cache/stats`. */
export interface StoreStatus {
  kind: "memory" | "redis" | "upstash";
  /** False while the backing service is unreachable (the gateway keeps serving from memory). */
  connected: boolean;
  /** Writes waiting to reach the backing service. */
  buffered: number;
  /** Writes dropped because the buffer was full while disconnected. */
  dropped: number;
  /** Writes Redis answered with an error (not an outage) and that were dropped; remote stores only. */
  rejected?: number;
  entries?: number;
}

/**
 * Where cache entries persist and how replicas hear of changes.
 *
 * Notes for the cache (see docs/STORES.md):
 * - Open one with `createStore(config, { logger, meter })` from `src/store/mod.ts`; the gateway's store is
 *   `gateway.store` (created in `src/wiring.ts` before the cache, closed after it, with a `store` readiness check).
 * - The Redis/Upstash stores keep no copy of the entries in the process: `get()` is a round trip to Redis. The
 *   cache holds what it serves (its index and entries) and uses the store for persistence and replication.
 * - Warm-up: call `subscribe()` first, then iterate `scan()`; changes made during the scan arrive through the
 *   listener. Applying a change must be idempotent: after a gap (Redis restarted, or the replica was away longer
 *   than the stream keeps) the store delivers every entry again as a `put`.
 * - Embeddings come back as float32 values (encoded as base64 float32 outside the process).
 * - Nothing throws when Redis is unreachable: writes are buffered (bounded), `get()` answers from that buffer or
 *   misses, `scan()` yields nothing, `delete()` resolves false and `deleteNamespace()` 0 (the operations are
 *   applied when Redis returns).
 */
export interface Store {
  readonly kind: StoreStatus["kind"];
  /** An entry by id; null when absent or expired. */
  get(id: string): Promise<CacheEntry | null>;
  /** Stores an entry (honouring its `expiresAt`) and publishes the change. */
  put(entry: CacheEntry): Promise<void>;
  /** Removes one entry; resolves true when it existed. */
  delete(id: string): Promise<boolean>;
  /** Removes every entry of a tenant, or of one agent of a tenant; resolves how many. */
  deleteNamespace(tenant: string, agentId?: string): Promise<number>;
  /** Every live entry, for warming a replica's index at start-up. */
  scan(options?: ScanOptions): AsyncIterable<CacheEntry>;
  /** Shared values beside the entries, where the store can hold them (Redis, Upstash); absent otherwise. */
  readonly blobs?: BlobStore;
  /** Calls `listener` with changes made by other replicas, until the returned function is called. */
  subscribe(listener: (change: StoreChange) => void): () => void;
  status(): StoreStatus;
  /**
   * Optional, for stores that hold entries in this process: from now on, an entry whose vector `source` holds is
   * kept without its own copy, and `get`, `scan` and snapshots read the vector from `source`. The source stays
   * attached for the store's lifetime.
   */
  shareVectors?(source: VectorSource): void;
  /**
   * Optional, for stores that hold entries in this process: the store's own copy of `entry` (same id, same answer
   * object, same times), without its embedding, for a cache in the same process to hold instead of a copy of its own
   * (one object per entry rather than two; ~190 bytes each). Undefined when the store holds another version or none.
   * Neither side mutates a shared entry.
   */
  sharedEntry?(entry: CacheEntry): CacheEntry | undefined;
  /** Flushes buffered writes (bounded wait) and closes connections. */
  close(): Promise<void>;
}
