/**
 * The response cache of the chat path (`ResponseCache` seam): exact hits from an in-process map in front of the
 * store, then semantic hits (embed the last user turn → k-NN inside the scope → verify → serve). Answers are kept
 * locally for sub-millisecond exact hits and written behind to the configured `Store`, whose change feed keeps
 * every replica's map and vector index in step; at start-up the index warms from `store.scan()`.
 *
 * Tenant isolation is absolute: the tenant is part of every scope key, and the entry's own tenant is compared
 * with the caller's before anything is served.
 *
 * @module
 */
import type { Counter, Histogram, Meter } from "@opentelemetry/api";
import type { ChatCompletion } from "../gateway/chat_schema.ts";
import type { CacheHit, ChatCall, ResponseCache } from "../gateway/stages.ts";
import type { CacheEntry, Store, StoreChange } from "../store/types.ts";
import { internEntry } from "../store/intern.ts";
import type { Embedder } from "../embed/types.ts";
import { embedderId } from "../embed/types.ts";
import type { Logger } from "../log.ts";
import type { ReadinessCheck } from "../http/routes/health.ts";
import type { CacheConfig } from "./config.ts";
import { type CacheKeys, cacheKeys } from "./scope.ts";
import { HnswVectorIndex, type VectorIndex } from "./vector_index.ts";
import { SharedIndexSnapshot, type SharedManifest } from "./shared_snapshot.ts";
import { acceptAll, type RejectReason, RuleVerifier, type Verifier } from "./verifier.ts";
import { type Flight, type FlightCandidate, InFlightPrompts } from "./in_flight.ts";
import { LATENCY_BUCKETS_SECONDS } from "../telemetry/telemetry.ts";
import { join } from "node:path";

/** The effective settings of one agent. */
export interface AgentCacheSettings {
  enabled: boolean;
  similarityThreshold: number;
  ttlSeconds: number;
  maxTemperature: number;
}

/** What a lookup outside the chat path (HTTP route, library) asks. */
export interface TextLookup {
  tenant: string;
  agentId: string;
  query: string;
  /** Entries are scoped by model; lookups and puts without one share the model-less scope. */
  model?: string;
  useSemantic?: boolean;
}

/** What a put outside the chat path stores. */
export interface TextPut {
  tenant: string;
  agentId: string;
  query: string;
  /** The answer: its text, or a whole chat completion. */
  response: string | ChatCompletion;
  model?: string;
  ttlSeconds?: number;
  costUsd?: number;
}

/** Extra facts about a stored answer (passed by the chat service when it knows them). */
export interface StoreMeta {
  costUsd?: number;
}

/** Counters of `/v1/cache/stats`. */
export interface CacheStats {
  entries: number;
  ready: boolean;
  embedder: string;
  threshold: number;
  verifier: boolean;
  lookups: { exact: number; semantic: number; miss: number; skipped: number };
  hit_rate: number;
  hit_latency_ms: {
    exact: { count: number; mean: number; p50: number; p99: number };
    semantic: { count: number; mean: number; p50: number; p99: number };
  };
  verifier_rejections: Partial<Record<RejectReason, number>>;
  money_saved_usd: number;
  evictions: number;
  /** Semantic lookups skipped because the embedder took longer than `semanticTimeoutMs`. */
  embed_timeouts: number;
  /**
   * Semantic single-flight: calls in flight upstream that others may join now, and what came of the calls that
   * joined one (served its answer; went upstream themselves because it had none, the wait reached
   * `joinWaitMs`, or their client left).
   */
  in_flight: { flights: number; joins: Record<JoinOutcome, number> };
  store: ReturnType<Store["status"]>;
  index: ReturnType<VectorIndex["stats"]>;
  warm: WarmStats;
  /** The index snapshot shared through the store (absent when the store cannot hold one or it is turned off). */
  shared_snapshot?: { published: number; generation?: string; last_error?: string };
}

/** How this replica's index was warmed. */
export interface WarmStats {
  /** Where the index came from: built from the store's entries, or loaded from a snapshot and reconciled. */
  source: "store" | "local-snapshot" | "shared-snapshot";
  /** Start to ready, ms (0 until ready). */
  ms: number;
  /** Vectors loaded from the snapshot. */
  restored: number;
  /** Time to download and load the shared snapshot, ms. */
  snapshot_ms?: number;
  /** Why a shared snapshot was not used (none published, mismatch, corruption, store error). */
  fallback?: string;
}

/** What came of a call that waited for a matching call in flight. */
export type JoinOutcome = "served" | "leader_failed" | "timeout" | "cancelled";

/**
 * A call in flight longer than this is no longer offered to others (a registration whose end was lost would
 * otherwise make every matching call wait `joinWaitMs` for nothing).
 */
const FLIGHT_MAX_AGE_MS = 300_000;

/** What a call's lookup left for `follow`: its keys and, when the embedding came in time, its vector. */
interface Missed {
  keys: CacheKeys;
  threshold: number;
  vector?: number[];
  started: number;
}

/** How long a starting replica may spend downloading the shared snapshot before it builds instead. */
const SHARED_DOWNLOAD_DEADLINE_MS = 120_000;
/**
 * How long a closing replica may spend publishing the shared snapshot: what the pod's grace period (35 s in
 * k8s/base) leaves after the 25 s of AMAS_SHUTDOWN_GRACE_MS. A publish cut short leaves the previous one current.
 */
const CLOSE_PUBLISH_TIMEOUT_MS = 10_000;

/** Options of {@linkcode SemanticCache.open}. */
export interface SemanticCacheOptions {
  config: CacheConfig;
  store: Store;
  embedder: Embedder;
  /** Defaults to the rule verifier when `config.verify` is on, else accepts every candidate. */
  verifier?: Verifier;
  meter?: Meter;
  logger?: Logger;
  /** Clock, for tests. */
  now?: () => number;
  /** Wait for the warm-up before resolving (the gateway does not: readiness reports it). */
  awaitWarm?: boolean;
  /**
   * Directory for a snapshot of the vector index, written on close and read at start, so a restart does not
   * rebuild large HNSW graphs (the store's entries still decide what is live).
   */
  snapshotDir?: string;
  /** Told the outcome of every lookup and the best candidate's similarity (cost recommendations use it). */
  observer?: LookupObserver;
}

/** One lookup as the cache saw it: what it served and how close the best semantic candidate was. */
export interface LookupObservation {
  tenant: string;
  agent: string;
  outcome: "exact" | "semantic" | "miss";
  /** Similarity of the best candidate in scope, when a semantic search ran (hit or not). */
  similarity?: number;
  threshold: number;
}

/** Receives lookup observations; must be cheap and never throw. */
export interface LookupObserver {
  lookup(observation: LookupObservation): void;
}

/** A window of recent latencies for percentiles, bounded in memory. */
class LatencyWindow {
  #values: number[] = [];
  #next = 0;
  #count = 0;
  #sum = 0;

  constructor(readonly size = 2048) {}

  add(ms: number): void {
    this.#count++;
    this.#sum += ms;
    if (this.#values.length < this.size) this.#values.push(ms);
    else this.#values[this.#next] = ms;
    this.#next = (this.#next + 1) % this.size;
  }

  summary(): { count: number; mean: number; p50: number; p99: number } {
    const sorted = [...this.#values].sort((a, b) => a - b);
    const q = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0);
    const r = (x: number) => Math.round(x * 1000) / 1000;
    return { count: this.#count, mean: r(this.#count ? this.#sum / this.#count : 0), p50: r(q(0.5)), p99: r(q(0.99)) };
  }
}

interface Metrics {
  lookups: Counter;
  duration: Histogram;
  rejections: Counter;
  saved: Counter;
  embed: Histogram;
  writes: Counter;
  evictions: Counter;
  joins: Counter;
}

/** Exact + semantic response cache over a `Store`. */
export class SemanticCache implements ResponseCache {
  readonly embedder: Embedder;
  readonly backing: Store;
  #config: CacheConfig;
  #verifier: Verifier;
  #index: VectorIndex;
  #logger?: Logger;
  #observer?: LookupObserver;
  #now: () => number;
  /** Entries without their embeddings, in least-recently-used order (a hit moves an entry to the end). */
  #entries = new Map<string, CacheEntry>();
  #byExact = new Map<string, string>();
  /** The embedding started during a call's lookup, reused when its answer is stored. */
  #callVectors = new WeakMap<ChatCall, Promise<number[]>>();
  /** Semantic lookups that ran out of their time budget, to be finished if the chat service asks (`lateHit`). */
  #late = new WeakMap<ChatCall, (wanted?: AbortSignal) => Promise<CacheHit | null>>();
  /** Lookups that missed, until `follow` decides whether the call waits for a call in flight or goes upstream. */
  #missed = new WeakMap<ChatCall, Missed>();
  /** Calls in flight upstream that others may join, and how each one's followers get its answer. */
  #flights = new InFlightPrompts();
  #leading = new WeakMap<
    ChatCall,
    { flight: Flight; settle: (answer: Awaited<Flight["answer"]>) => void; onAbort: () => void }
  >();
  #joins: Record<JoinOutcome, number> = { served: 0, leader_failed: 0, timeout: 0, cancelled: 0 };
  #embedderId: string;
  #warmed = false;
  #warmError?: string;
  #warming: Promise<void> = Promise.resolve();
  #unsubscribe: () => void = () => {};
  #sweep?: ReturnType<typeof setInterval>;
  #pendingWrites = new Set<Promise<unknown>>();
  #closed = false;
  #metrics?: Metrics;
  #counts = { exact: 0, semantic: 0, miss: 0, skipped: 0 };
  #latency = { exact: new LatencyWindow(), semantic: new LatencyWindow() };
  #rejections: Partial<Record<RejectReason, number>> = {};
  #saved = 0;
  #evictions = 0;
  #timeouts = 0;
  #embedFailureLogged = false;
  #snapshotDir?: string;
  /** True while warming from a restored index snapshot: vectors already in it are not added again. */
  #restored = false;
  #warmStats: WarmStats = { source: "store", ms: 0, restored: 0 };
  #share?: SharedIndexSnapshot;
  /** Changes from the store, held while the shared snapshot downloads (they apply to the index it brings). */
  #held: StoreChange[] | null = null;
  /** The shared generation this replica knows of, and `index.changes` at the time it was taken. */
  #sharedGeneration?: string;
  #sharedBaseline?: number;
  /** A shared generation of this replica's kind found broken (a chunk corrupt or gone): replace it when warm. */
  #brokenGeneration?: string;
  #published = 0;
  #publishError?: string;
  #publishing?: Promise<SharedManifest | null>;
  #shareTimer?: ReturnType<typeof setInterval>;

  private constructor(options: SemanticCacheOptions) {
    this.#config = options.config;
    this.backing = options.store;
    this.embedder = options.embedder;
    this.#verifier = options.verifier ?? (options.config.verify ? new RuleVerifier() : acceptAll);
    this.#index = new HnswVectorIndex({ dimension: options.embedder.dimension });
    this.#logger = options.logger;
    this.#observer = options.observer;
    this.#now = options.now ?? Date.now;
    this.#embedderId = embedderId(options.embedder);
    if (options.snapshotDir) this.#snapshotDir = join(options.snapshotDir, this.#embedderId.replace(/[^\w.-]/g, "_"));
    if (options.meter) this.#metrics = this.#instruments(options.meter);
    if (options.config.sharedSnapshot && options.store.blobs) {
      this.#share = new SharedIndexSnapshot({
        blobs: options.store.blobs,
        embedder: this.#embedderId,
        dimension: options.embedder.dimension,
      });
    }
    this.#warmVerifier();
  }

  /**
   * Runs the verifier over a few pairs that take its main paths (numbers, quotes, code, units, dates, negation,
   * synonyms): its first calls compile regular expressions and code (~20 ms in all), which would otherwise stall
   * the event loop during the first semantic lookups.
   */
  #warmVerifier(): void {
    const pairs: [string, string][] = [
      ["How can I reset my password? (variant 2)", "How do I reset my password?"],
      ["What is 15% of 240 km in miles?", "What's fifteen percent of 250 kilometers in miles?"],
      ["Translate 'good morning' to French today", "Translate 'good night' into French tomorrow"],
      ["Why doesn't useEffect() run in my_app --watch?", "When does useState run without the --watch flag?"],
      ["Which city is the capital of France?", "What is the capital of Germany?"],
      ["Who was the founder of the USA's biggest company?", "Who founded the largest company in the United States?"],
    ];
    for (const [a, b] of pairs) {
      this.#verifier.verify(a, b);
      this.#verifier.verify(b, a);
    }
  }

  /** Creates the cache, subscribes to the store's changes and starts warming from `store.scan()`. */
  static async open(options: SemanticCacheOptions): Promise<SemanticCache> {
    const cache = new SemanticCache(options);
    if (cache.#snapshotDir) {
      const restored = await HnswVectorIndex.restore(cache.#snapshotDir, { dimension: options.embedder.dimension })
        .catch(() => null);
      if (restored) {
        cache.#index = restored;
        cache.#restored = true;
        cache.#warmStats = { source: "local-snapshot", ms: 0, restored: restored.size };
      }
    }
    // Without a local snapshot, the warm-up first tries the shared one; changes arriving meanwhile wait for it.
    if (!cache.#restored && cache.#share) cache.#held = [];
    // An in-process store reads vectors from the index instead of keeping a second copy of each.
    cache.backing.shareVectors?.({
      embedder: cache.#embedderId,
      has: (id) => cache.#index.has(id),
      vector: (id) => cache.#index.vector(id),
    });
    // Subscribe before scanning, so nothing written during the scan is missed (applying a change twice is harmless).
    cache.#unsubscribe = cache.backing.subscribe((change) => {
      if (cache.#held) cache.#held.push(change);
      else cache.#apply(change);
    });
    cache.#warming = cache.#warm();
    // Load the model now rather than on the first request (it takes a second or more); readiness does not wait
    // for it, so a gateway whose embedder is slow or broken still serves exact hits and misses.
    cache.embedder.embed(["warm up"]).catch((err) => cache.#embedFailed(err));
    if (options.awaitWarm) await cache.#warming;
    const interval = options.config.sweepIntervalMs;
    cache.#sweep = setInterval(() => cache.sweep(), interval);
    Deno.unrefTimer(cache.#sweep as unknown as number);
    if (cache.#share) {
      cache.#shareTimer = setInterval(() => cache.#publishIfDue("interval"), options.config.snapshotIntervalMs);
      Deno.unrefTimer(cache.#shareTimer as unknown as number);
    }
    return cache;
  }

  /**
   * Publishes this replica's index as the shared snapshot now, whatever the interval and the changes; resolves
   * null when the store cannot hold one, the index is not warm yet, or another replica is publishing.
   */
  publishSnapshot(): Promise<SharedManifest | null> {
    return this.#publish();
  }

  /** Whether the warm-up from the store finished. */
  get ready(): boolean {
    return this.#warmed;
  }

  /** Resolves when the warm-up finished. */
  whenReady(): Promise<void> {
    return this.#warming;
  }

  /** The vector index (read-only use: stats, benchmarks). */
  get index(): VectorIndex {
    return this.#index;
  }

  /** Live entries held by this process. */
  get size(): number {
    return this.#entries.size;
  }

  /** The readiness check `cache`: ready once the index is warm. */
  readinessCheck(): ReadinessCheck {
    return {
      name: "cache",
      check: () => {
        if (this.#warmed) return { ready: true, detail: `${this.#entries.size} entries, ${this.#embedderId}` };
        return { ready: false, detail: this.#warmError ?? "warming the index from the store" };
      },
    };
  }

  /** The effective settings of an agent. */
  settingsFor(agentId: string): AgentCacheSettings {
    const own = this.#config.agents[agentId] ?? {};
    return {
      enabled: own.enabled ?? this.#config.enabled,
      similarityThreshold: own.similarityThreshold ?? this.#config.similarityThreshold,
      ttlSeconds: own.ttlSeconds ?? this.#config.ttlSeconds,
      maxTemperature: own.maxTemperature ?? this.#config.maxTemperature,
    };
  }

  // -------------------------------------------------------------------------------------------------------------
  // The chat path

  async lookup(call: ChatCall): Promise<CacheHit | null> {
    const started = performance.now();
    const keys = this.#eligibleKeys(call);
    if (!keys) {
      this.#count("skipped", started);
      return null;
    }
    const settings = this.settingsFor(call.agentId);
    const observe = (outcome: LookupObservation["outcome"], similarity?: number) =>
      this.#observer?.lookup({
        tenant: call.tenant,
        agent: call.agentId,
        outcome,
        similarity,
        threshold: settings.similarityThreshold,
      });
    const exact = this.#exactHit(call.tenant, keys);
    if (exact) {
      observe("exact");
      return this.#served(exact, "exact", started);
    }
    if (call.cacheMode === "exact-only" || keys.semanticText === undefined) {
      observe("miss");
      this.#count("miss", started);
      return null;
    }
    const threshold = settings.similarityThreshold;
    // Nothing to compare with in this scope: no need to wait for an embedding (the store embeds the answer).
    if (
      this.#index.scopeSize(keys.scopeKey) === 0 && !(this.#config.joinInFlight && this.#flights.has(keys.scopeKey))
    ) {
      this.#missed.set(call, { keys, threshold, started });
      observe("miss");
      this.#count("miss", started);
      return null;
    }
    const t0 = performance.now();
    const embedding = this.#embedCall(call, keys.semanticText);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const budget = new Promise<"timeout">((r) =>
      timer = setTimeout(() => r("timeout"), this.#config.semanticTimeoutMs)
    );
    let vector: number[] | "timeout";
    try {
      vector = await Promise.race([embedding, budget]);
    } catch {
      this.#count("miss", started);
      return null;
    } finally {
      clearTimeout(timer);
      call.timing.add("embed", performance.now() - t0);
    }
    if (vector === "timeout") {
      // A busy embedder must not make misses slow: past the budget the call goes upstream without a semantic
      // lookup (its answer is still embedded and stored for later).
      this.#timeouts++;
      this.#metrics?.rejections.add(1, { reason: "embed_timeout" });
      this.#count("miss", started);
      const missed: Missed = { keys, threshold, started };
      this.#missed.set(call, missed);
      // The lookup finishes when the embedding arrives; the chat service races it against the upstream call.
      this.#late.set(call, (wanted) =>
        embedding.then((v) => {
          if (wanted?.aborted) return null;
          const hit = this.#semanticHit(call.tenant, keys, v, threshold);
          if (hit) {
            this.#counts.miss--; // counted as a miss above: it is a (late) semantic hit after all
            observe("semantic", hit.similarity);
            return this.#served(hit.entry, "semantic", started, hit.similarity);
          }
          // Nothing stored yet: a matching call that went upstream before this one may still answer first. Only
          // for a call in flight of its own (one that shares an identical call's answer gets that answer anyway).
          const own = this.#leading.get(call)?.flight;
          if (!own) return null;
          const found = this.#flightFor(call.tenant, keys, v, threshold, own);
          if (!found) return null;
          return found.flight.answer.then((answer) =>
            answer && !wanted?.aborted ? this.#joined({ ...missed, vector: v }, found, answer) : null
          );
        }, () => null));
      return null;
    }
    const best: { similarity?: number } = {};
    const hit = this.#semanticHit(call.tenant, keys, vector, threshold, best);
    if (hit) {
      observe("semantic", hit.similarity);
      return this.#served(hit.entry, "semantic", started, hit.similarity);
    }
    this.#missed.set(call, { keys, threshold, vector, started });
    observe("miss", best.similarity);
    this.#count("miss", started);
    return null;
  }

  lateHit(call: ChatCall, wanted?: AbortSignal): Promise<CacheHit | null> | undefined {
    const finish = this.#late.get(call);
    this.#late.delete(call);
    return finish?.(wanted);
  }

  follow(call: ChatCall): Promise<CacheHit | null> | undefined {
    const missed = this.#missed.get(call);
    this.#missed.delete(call);
    // Only a plain lookup joins or leads: bypass, refresh and exact-only calls never reach here with a miss.
    if (!missed || !this.#config.joinInFlight || this.#closed || call.cacheMode !== "default") return undefined;
    if (missed.vector) {
      const found = this.#flightFor(call.tenant, missed.keys, missed.vector, missed.threshold);
      if (found) return this.#wait(call, missed, found);
    }
    this.#lead(call, missed);
    return undefined;
  }

  done(call: ChatCall, completion?: ChatCompletion, meta: StoreMeta = {}): void {
    const leading = this.#leading.get(call);
    if (!leading) return;
    this.#leading.delete(call);
    call.signal.removeEventListener("abort", leading.onAbort);
    this.#flights.remove(leading.flight);
    leading.settle(completion ? { completion, costUsd: meta.costUsd ?? 0 } : null);
  }

  /**
   * Serve-stale-on-error: the exact entry of a call even if it expired (within `staleSeconds`), when every
   * upstream failed. Never another tenant's, never a semantic neighbour.
   */
  stale(call: ChatCall): Promise<CacheHit | null> {
    const keys = this.#eligibleKeys(call);
    if (!keys) return Promise.resolve(null);
    const id = this.#byExact.get(keys.exactKey);
    const entry = id === undefined ? undefined : this.#entries.get(id);
    if (!entry || entry.tenant !== call.tenant || entry.scopeKey !== keys.scopeKey) return Promise.resolve(null);
    return Promise.resolve({ kind: "exact", completion: entry.response, entryId: entry.id });
  }

  store(call: ChatCall, completion: ChatCompletion, meta: StoreMeta = {}): void {
    if (this.#closed) return;
    const keys = this.#eligibleKeys(call);
    if (!keys) return;
    const settings = this.settingsFor(call.agentId);
    const now = this.#now();
    const entry: CacheEntry = {
      id: keys.exactKey,
      tenant: call.tenant,
      agentId: call.agentId,
      scopeKey: keys.scopeKey,
      exactKey: keys.exactKey,
      semanticText: keys.semanticText ?? "",
      response: completion,
      costUsd: meta.costUsd ?? 0,
      createdAt: now,
      expiresAt: now + settings.ttlSeconds * 1000,
    };
    this.#writeBehind(entry, this.#callVectors.get(call));
    this.#callVectors.delete(call);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Outside the chat path: HTTP routes and the library API

  /** Looks a prompt up as if it were a one-turn chat request to `model` (or the model-less scope). */
  async lookupText(q: TextLookup): Promise<{ hit: CacheHit["kind"] | null; similarity?: number; entry?: CacheEntry }> {
    const started = performance.now();
    const keys = this.#textKeys(q.tenant, q.agentId, q.query, q.model);
    const settings = this.settingsFor(q.agentId);
    if (!settings.enabled || !keys) {
      this.#count("skipped", started);
      return { hit: null };
    }
    const exact = this.#exactHit(q.tenant, keys);
    if (exact) {
      this.#served(exact, "exact", started);
      return { hit: "exact", entry: exact };
    }
    if (q.useSemantic === false || keys.semanticText === undefined) {
      this.#count("miss", started);
      return { hit: null };
    }
    const [vector] = await this.embedder.embed([keys.semanticText]);
    const hit = this.#semanticHit(q.tenant, keys, vector, settings.similarityThreshold);
    if (!hit) {
      this.#count("miss", started);
      return { hit: null };
    }
    this.#served(hit.entry, "semantic", started, hit.similarity);
    return { hit: "semantic", similarity: hit.similarity, entry: hit.entry };
  }

  /** Stores an answer for a prompt; resolves with the entry once it reached the store. */
  async putText(p: TextPut): Promise<CacheEntry> {
    const keys = this.#textKeys(p.tenant, p.agentId, p.query, p.model);
    if (!keys) throw new Error("the query is empty");
    const now = this.#now();
    const ttl = p.ttlSeconds ?? this.settingsFor(p.agentId).ttlSeconds;
    const response: ChatCompletion = typeof p.response === "string"
      ? {
        id: `cache-${keys.exactKey.slice(0, 16)}`,
        object: "chat.completion",
        created: Math.floor(now / 1000),
        model: p.model ?? "cache",
        choices: [{ index: 0, message: { role: "assistant", content: p.response }, finish_reason: "stop" }],
      }
      : p.response;
    const entry: CacheEntry = {
      id: keys.exactKey,
      tenant: p.tenant,
      agentId: p.agentId,
      scopeKey: keys.scopeKey,
      exactKey: keys.exactKey,
      semanticText: keys.semanticText ?? "",
      response,
      costUsd: p.costUsd ?? 0,
      createdAt: now,
      expiresAt: now + ttl * 1000,
    };
    await this.#writeBehind(entry, undefined);
    return this.#entries.get(entry.id) ?? entry;
  }

  /** An entry of a tenant by id (null when absent, expired or another tenant's). */
  get(id: string, tenant: string): CacheEntry | null {
    const entry = this.#entries.get(id);
    if (!entry || entry.tenant !== tenant || entry.expiresAt <= this.#now()) return null;
    return entry;
  }

  /** Removes one entry of a tenant here and in the store; true when it existed. */
  async invalidate(id: string, tenant: string): Promise<boolean> {
    const local = this.#entries.get(id);
    if (local && local.tenant !== tenant) return false;
    if (!local) {
      // Not held here (evicted locally): only the store knows whose it is.
      const stored = await this.backing.get(id);
      if (!stored || stored.tenant !== tenant) return false;
    }
    this.#remove(id);
    await this.backing.delete(id);
    return true;
  }

  /** Removes every entry of a tenant, or of one of its agents, here and in the store; resolves how many. */
  async invalidateNamespace(tenant: string, agentId?: string): Promise<number> {
    const local = this.#removeNamespace(tenant, agentId);
    const stored = await this.backing.deleteNamespace(tenant, agentId);
    return Math.max(local, stored);
  }

  /** Counters for `/v1/cache/stats`. */
  stats(): CacheStats {
    const hits = this.#counts.exact + this.#counts.semantic;
    const asked = hits + this.#counts.miss;
    return {
      entries: this.#entries.size,
      ready: this.#warmed,
      embedder: this.#embedderId,
      threshold: this.#config.similarityThreshold,
      verifier: this.#verifier !== acceptAll,
      lookups: { ...this.#counts },
      hit_rate: asked ? Math.round((hits / asked) * 10_000) / 10_000 : 0,
      hit_latency_ms: { exact: this.#latency.exact.summary(), semantic: this.#latency.semantic.summary() },
      verifier_rejections: { ...this.#rejections },
      money_saved_usd: Math.round(this.#saved * 1e8) / 1e8,
      evictions: this.#evictions,
      embed_timeouts: this.#timeouts,
      in_flight: { flights: this.#flights.size, joins: { ...this.#joins } },
      store: this.backing.status(),
      index: this.#index.stats(),
      warm: { ...this.#warmStats },
      ...(this.#share
        ? {
          shared_snapshot: {
            published: this.#published,
            ...(this.#sharedGeneration ? { generation: this.#sharedGeneration } : {}),
            ...(this.#publishError ? { last_error: this.#publishError } : {}),
          },
        }
        : {}),
    };
  }

  /**
   * Drops entries expired for longer than `staleSeconds` (until then they may still answer when every upstream
   * fails) and rebuilds index graphs full of tombstones; returns how many entries went.
   */
  sweep(): number {
    const cutoff = this.#now() - this.#config.staleSeconds * 1000;
    let n = 0;
    for (const [id, entry] of this.#entries) {
      if (entry.expiresAt <= cutoff) {
        this.#remove(id);
        n++;
      }
    }
    this.#index.compact();
    return n;
  }

  /** Waits for pending writes (bounded), stops listening and closes the embedder. The store is closed by its owner. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    clearInterval(this.#shareTimer);
    this.#unsubscribe();
    await Promise.race([
      Promise.allSettled([...this.#pendingWrites]),
      new Promise((r) => setTimeout(r, 2000)),
    ]);
    await this.embedder.close();
    if (this.#snapshotDir) {
      await this.#index.snapshot(this.#snapshotDir).catch((err) =>
        this.#logger?.warn("cache index snapshot failed", { err: String(err) })
      );
    }
    if (this.#share) {
      // A replica going away hands its index on when it changed enough; bounded, a shutdown must not hang on it.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#publishIfDue("close"),
        new Promise((r) => timer = setTimeout(r, CLOSE_PUBLISH_TIMEOUT_MS)),
      ]);
      clearTimeout(timer);
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Internals

  /** The keys of a call when it may use the cache at all (agent enabled, temperature, not a tool turn). */
  #eligibleKeys(call: ChatCall): CacheKeys | null {
    const settings = this.settingsFor(call.agentId);
    if (!settings.enabled || call.cacheMode === "bypass") return null;
    const t = call.request.temperature;
    if (t !== null && t !== undefined && t > settings.maxTemperature) return null;
    const keys = cacheKeys(call);
    return "reason" in keys ? null : keys;
  }

  #textKeys(tenant: string, agentId: string, query: string, model?: string): CacheKeys | null {
    if (query.trim() === "") return null;
    const keys = cacheKeys({
      tenant,
      agentId,
      request: { model: model ?? "*", messages: [{ role: "user", content: query }] },
    });
    return "reason" in keys ? null : keys;
  }

  #exactHit(tenant: string, keys: CacheKeys): CacheEntry | null {
    const id = this.#byExact.get(keys.exactKey);
    if (id === undefined) return null;
    const entry = this.#entries.get(id);
    if (!entry) return null;
    if (entry.tenant !== tenant || entry.scopeKey !== keys.scopeKey) return null;
    // Expired entries stay a while for serve-stale-on-error; the sweep removes them.
    if (entry.expiresAt <= this.#now()) return null;
    return entry;
  }

  /** Starts embedding a call's semantic text; the store of the call's answer reuses it. */
  #embedCall(call: ChatCall, text: string): Promise<number[]> {
    const t0 = performance.now();
    const embedding = this.embedder.embed([text]).then(([v]) => {
      this.#metrics?.embed.record((performance.now() - t0) / 1000);
      return v;
    });
    this.#callVectors.set(call, embedding);
    embedding.catch((err) => this.#embedFailed(err));
    return embedding;
  }

  /**
   * The call in flight in this scope that a call with `keys` may wait for: the most similar one at or above the
   * threshold that the verifier accepts, exactly as a stored entry would be served. Never another tenant's.
   */
  #flightFor(
    tenant: string,
    keys: CacheKeys,
    vector: number[],
    threshold: number,
    except?: Flight,
  ): FlightCandidate | null {
    const since = performance.now() - FLIGHT_MAX_AGE_MS;
    for (const candidate of this.#flights.near(keys.scopeKey, vector, threshold, since)) {
      const flight = candidate.flight;
      if (flight === except || flight.tenant !== tenant || flight.scopeKey !== keys.scopeKey) continue;
      const verdict = this.#verifier.verify(keys.semanticText!, flight.semanticText);
      if (!verdict.ok) {
        this.#rejections[verdict.reason] = (this.#rejections[verdict.reason] ?? 0) + 1;
        this.#metrics?.rejections.add(1, { reason: verdict.reason });
        continue;
      }
      return candidate;
    }
    return null;
  }

  /** Registers a call that goes upstream as in flight, for matching calls to wait for until `done`. */
  #lead(call: ChatCall, missed: Missed): void {
    if (this.#leading.has(call) || call.signal.aborted) return;
    let settle!: (answer: Awaited<Flight["answer"]>) => void;
    const flight: Flight = {
      tenant: call.tenant,
      scopeKey: missed.keys.scopeKey,
      exactKey: missed.keys.exactKey,
      semanticText: missed.keys.semanticText!,
      started: performance.now(),
      answer: new Promise((resolve) => settle = resolve),
    };
    if (missed.vector) flight.vector = missed.vector;
    else {
      // The embedding the store needs anyway, started now (when the lookup had nothing to compare it with).
      const embedding = this.#callVectors.get(call) ?? this.#embedCall(call, flight.semanticText);
      embedding.then((v) => flight.vector = v, () => {});
    }
    // A client gone is a call without an answer, even before the chat service learns it (a stream never read).
    const onAbort = () => this.done(call);
    call.signal.addEventListener("abort", onAbort, { once: true });
    this.#flights.add(flight);
    this.#leading.set(call, { flight, settle, onAbort });
  }

  /**
   * Waits for a matching call in flight: its answer as a hit, or null when it has none, after `joinWaitMs`, or
   * when this call is aborted. Except when aborted, the call is then registered as in flight itself (it goes
   * upstream); past the wait its `lateHit` still takes the other call's answer if that comes first.
   */
  #wait(call: ChatCall, missed: Missed, found: FlightCandidate): Promise<CacheHit | null> {
    return new Promise((resolve) => {
      let over = false;
      const finish = (hit: CacheHit | null, outcome: JoinOutcome) => {
        if (over) return;
        over = true;
        clearTimeout(timer);
        call.signal.removeEventListener("abort", onAbort);
        if (outcome !== "served") this.#joinEnded(outcome);
        if (outcome === "leader_failed" || outcome === "timeout") this.#lead(call, missed);
        resolve(hit);
      };
      const onAbort = () => finish(null, "cancelled");
      const timer = setTimeout(() => {
        this.#late.set(
          call,
          (wanted) =>
            found.flight.answer.then((answer) =>
              answer && !wanted?.aborted ? this.#joined(missed, found, answer) : null
            ),
        );
        finish(null, "timeout");
      }, this.#config.joinWaitMs);
      call.signal.addEventListener("abort", onAbort, { once: true });
      found.flight.answer.then((answer) => {
        if (over) return;
        if (answer) finish(this.#joined(missed, found, answer), "served");
        else finish(null, "leader_failed");
      });
    });
  }

  /** A call served the answer of the call in flight it waited for: counted as a hit (its lookup counted a miss). */
  #joined(
    missed: Missed,
    { flight, similarity }: FlightCandidate,
    answer: { completion: ChatCompletion; costUsd: number },
  ): CacheHit {
    const kind = flight.exactKey === missed.keys.exactKey ? "exact" : "semantic";
    this.#counts.miss--;
    this.#counts[kind]++;
    this.#metrics?.lookups.add(1, { result: kind });
    this.#saved += answer.costUsd;
    if (answer.costUsd > 0) this.#metrics?.saved.add(answer.costUsd);
    this.#joinEnded("served");
    return {
      kind,
      completion: answer.completion,
      ...(kind === "semantic" ? { similarity } : {}),
      entryId: flight.exactKey,
      inFlight: true,
    };
  }

  #joinEnded(outcome: JoinOutcome): void {
    this.#joins[outcome]++;
    this.#metrics?.joins.add(1, { outcome });
  }

  #semanticHit(
    tenant: string,
    keys: CacheKeys,
    vector: number[],
    threshold: number,
    best: { similarity?: number } = {},
  ): { entry: CacheEntry; similarity: number } | null {
    const now = this.#now();
    // Templated prompts ("… feature 17 …", "… feature 18 …") put many near neighbours above the threshold that the
    // verifier rejects; when all k were rejected and the last was still above the threshold, look further (k × 4,
    // twice at most: verification is memoised and takes microseconds).
    let seen = 0;
    for (let k = this.#config.candidates; seen < k; k *= 4) {
      const neighbours = this.#index.search(keys.scopeKey, vector, k);
      if (neighbours.length && best.similarity === undefined) best.similarity = Math.min(1, neighbours[0].similarity);
      for (const n of neighbours.slice(seen)) {
        if (n.similarity < threshold) return null;
        const entry = this.#entries.get(n.id);
        if (!entry || entry.tenant !== tenant || entry.scopeKey !== keys.scopeKey || entry.expiresAt <= now) continue;
        const verdict = this.#verifier.verify(keys.semanticText!, entry.semanticText);
        if (!verdict.ok) {
          this.#rejections[verdict.reason] = (this.#rejections[verdict.reason] ?? 0) + 1;
          this.#metrics?.rejections.add(1, { reason: verdict.reason });
          continue;
        }
        return { entry, similarity: Math.min(1, n.similarity) };
      }
      if (neighbours.length < k || k >= this.#config.candidates * 16) return null;
      seen = neighbours.length;
    }
    return null;
  }

  #served(entry: CacheEntry, kind: "exact" | "semantic", started: number, similarity?: number): CacheHit {
    // Least recently used goes first: a hit moves the entry to the end.
    this.#entries.delete(entry.id);
    this.#entries.set(entry.id, entry);
    this.#saved += entry.costUsd;
    if (entry.costUsd > 0) this.#metrics?.saved.add(entry.costUsd);
    this.#count(kind, started);
    return { kind, completion: entry.response, similarity, entryId: entry.id };
  }

  #count(kind: "exact" | "semantic" | "miss" | "skipped", started: number): void {
    const ms = performance.now() - started;
    this.#counts[kind]++;
    if (kind === "exact" || kind === "semantic") this.#latency[kind].add(ms);
    this.#metrics?.lookups.add(1, { result: kind });
    if (kind !== "skipped") this.#metrics?.duration.record(ms / 1000, { result: kind });
  }

  /** Holds the entry here at once (exact hits from the next request), embeds it, then writes it to the store. */
  #writeBehind(entry: CacheEntry, vector: Promise<number[]> | undefined): Promise<void> {
    this.#hold(entry);
    const work = (async () => {
      try {
        if (entry.semanticText) {
          const v = vector ? await vector : (await this.embedder.embed([entry.semanticText]))[0];
          entry.embedding = v;
          entry.embedder = this.#embedderId;
          if (this.#entries.get(entry.id) === entry) this.#index.add(entry.id, entry.scopeKey, v);
        }
      } catch (err) {
        this.#embedFailed(err);
      }
      try {
        await this.backing.put(entry);
        this.#metrics?.writes.add(1, { outcome: "ok" });
      } catch (err) {
        this.#metrics?.writes.add(1, { outcome: "error" });
        this.#logger?.warn("cache store write failed", { err: String(err) });
      } finally {
        // The local copy drops the vector: the index holds it, and 512 doubles per entry add up.
        if (this.#entries.get(entry.id) === entry) this.#entries.set(entry.id, this.#local(entry));
      }
    })();
    this.#pendingWrites.add(work);
    work.finally(() => this.#pendingWrites.delete(work));
    return work;
  }

  /** Puts an entry in the local map (replacing any older one of the same id) and enforces the entry bound. */
  #hold(entry: CacheEntry): void {
    // One copy of the strings every entry repeats (tenant, scope key, model, …), shared with an in-process store.
    internEntry(entry);
    const old = this.#entries.get(entry.id);
    if (old) {
      this.#byExact.delete(old.exactKey);
      this.#entries.delete(entry.id);
      this.#index.remove(entry.id);
    }
    this.#entries.set(entry.id, entry);
    this.#byExact.set(entry.exactKey, entry.id);
    while (this.#entries.size > this.#config.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#remove(oldest);
      this.#evictions++;
      this.#metrics?.evictions.add(1);
      // The bound is the cluster's: the store forgets it too, and the change reaches the other replicas.
      this.backing.delete(oldest).catch(() => {});
    }
  }

  #remove(id: string): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    this.#entries.delete(id);
    if (this.#byExact.get(entry.exactKey) === id) this.#byExact.delete(entry.exactKey);
    this.#index.remove(id);
  }

  #removeNamespace(tenant: string, agentId?: string): number {
    let n = 0;
    for (const [id, e] of this.#entries) {
      if (e.tenant === tenant && (agentId === undefined || e.agentId === agentId)) {
        this.#remove(id);
        n++;
      }
    }
    return n;
  }

  /** Applies a change made by another replica (or read during warm-up) to the map and the index. */
  #apply(change: StoreChange): void {
    if (this.#closed) return;
    if (change.op === "delete") this.#remove(change.id);
    else if (change.op === "delete_namespace") this.#removeNamespace(change.tenant, change.agentId);
    else this.#adopt(change.entry);
  }

  /** Holds an entry from the store or the stream (the newest version wins) and indexes its vector. */
  #adopt(entry: CacheEntry): void {
    if (entry.expiresAt <= this.#now()) return;
    const current = this.#entries.get(entry.id);
    if (current && current.createdAt >= entry.createdAt) {
      // Held already (written here during the warm-up); its vector went with the index a snapshot replaced.
      if (current.createdAt === entry.createdAt && !this.#index.has(entry.id)) this.#indexEntry(entry, current);
      return;
    }
    const local = this.#local(entry);
    this.#hold(local);
    this.#indexEntry(entry, local);
  }

  /**
   * The object to hold for `entry`: an in-process store's own copy of it when the store has one (shared, never
   * mutated by either side), else a copy without the embedding.
   */
  #local(entry: CacheEntry): CacheEntry {
    return this.backing.sharedEntry?.(entry) ?? withoutEmbedding(entry);
  }

  /** Adds the vector of `entry` (held here as `local`) to the index: its own embedding, or one made here. */
  #indexEntry(entry: CacheEntry, local: CacheEntry): void {
    if (!entry.semanticText) return;
    if (this.#restored && this.#index.has(entry.id)) return;
    if (this.#usable(entry)) {
      this.#index.add(entry.id, entry.scopeKey, entry.embedding!);
    } else {
      // Written by a replica with another embedder: embed it here, in the background.
      this.embedder.embed([entry.semanticText]).then(([v]) => {
        if (this.#entries.get(entry.id) === local) this.#index.add(entry.id, entry.scopeKey, v);
      }, (err) => this.#embedFailed(err));
    }
  }

  /** Whether an entry's embedding can go into this index as it is. */
  #usable(entry: CacheEntry): boolean {
    return entry.embedding !== undefined && entry.embedder === this.#embedderId &&
      entry.embedding.length === this.embedder.dimension;
  }

  /**
   * Replaces the empty index with the shared snapshot when one is usable (otherwise the warm-up builds), then
   * applies the changes held meanwhile. Measured on a 2-core machine, scanning the store while the snapshot
   * downloads was no faster than one after the other, so the scan follows (and skips the embeddings it holds).
   */
  async #loadShared(): Promise<void> {
    const share = this.#share!;
    try {
      const manifest = await share.current();
      if (!manifest) {
        this.#warmStats.fallback = "no shared snapshot published yet";
        return;
      }
      share.check(manifest);
      // From here on a failure means this generation is broken (not merely another replica's kind).
      this.#brokenGeneration = manifest.generation;
      const got = await share.download(manifest, {}, Date.now() + SHARED_DOWNLOAD_DEADLINE_MS);
      this.#brokenGeneration = undefined;
      this.#index = got.index;
      this.#restored = true;
      this.#sharedGeneration = got.manifest.generation;
      this.#sharedBaseline = 0;
      this.#warmStats = {
        source: "shared-snapshot",
        ms: 0,
        restored: got.index.size,
        snapshot_ms: Math.round(got.ms),
      };
      this.#logger?.info("cache index loaded from the shared snapshot", {
        generation: got.manifest.generation,
        vectors: got.index.size,
        bytes: got.manifest.bytes,
        ageS: Math.round((Date.now() - got.manifest.publishedAt) / 1000),
        ms: Math.round(got.ms),
      });
    } catch (err) {
      this.#sharedFailed(err);
    } finally {
      this.#releaseHeld();
    }
  }

  #sharedFailed(err: unknown): void {
    this.#warmStats.fallback = (err as Error)?.message ?? String(err);
    this.#logger?.warn("shared index snapshot not usable; building the index from the store", {
      reason: this.#warmStats.fallback,
    });
  }

  /** Applies the changes held while the shared snapshot loaded, and the ones after them as they come. */
  #releaseHeld(): void {
    const held = this.#held ?? [];
    this.#held = null;
    for (const change of held) this.#apply(change);
  }

  async #warm(): Promise<void> {
    const started = performance.now();
    let n = 0;
    try {
      if (this.#held) await this.#loadShared();
      // Entries whose vectors a restored index holds are read without their embeddings (most of their bytes).
      const scan = this.#restored
        ? { withoutEmbedding: { ids: (id: string) => this.#index.has(id), dimension: this.embedder.dimension } }
        : {};
      for await (const entry of this.backing.scan(scan)) {
        this.#adopt(entry);
        // Adding to the HNSW graph is synchronous native work: yield now and then so requests keep flowing.
        if (++n % 256 === 0) await new Promise((r) => setTimeout(r, 0));
      }
      if (this.#restored) {
        // Vectors of entries the store no longer holds (expired or deleted while this process was down) go.
        for (const id of this.#index.ids()) if (!this.#entries.has(id)) this.#index.remove(id);
        this.#restored = false;
      }
      this.#warmed = true;
      this.#warmStats.ms = Math.round(performance.now() - started);
      this.#logger?.info("cache index warm", {
        entries: n,
        vectors: this.#index.size,
        source: this.#warmStats.source,
        ms: this.#warmStats.ms,
      });
      // A replica that had to build hands its index on at once when the cluster has no snapshot yet.
      if (this.#warmStats.source !== "shared-snapshot") this.#publishIfDue("interval");
    } catch (err) {
      // A store that cannot be scanned (Redis down at start) must not keep the gateway unready forever: it
      // serves from what it has and the change feed fills the index as the store comes back.
      this.#releaseHeld();
      this.#warmError = String(err);
      this.#warmed = true;
      this.#warmStats.ms = Math.round(performance.now() - started);
      this.#logger?.warn("cache warm-up failed; starting with what was read", { entries: n, err: String(err) });
    }
  }

  /**
   * Publishes the shared snapshot when it is due: this index changed by at least `snapshotMinChanges` since the
   * shared one was taken (or the cluster has none), and (except on close) the shared one is older than
   * `snapshotIntervalMs`. Never rejects.
   */
  async #publishIfDue(reason: "interval" | "close"): Promise<void> {
    if (!this.#share || !this.#warmed || this.#warmError || this.#publishing) {
      if (reason === "close") await this.#publishing?.catch(() => {});
      return;
    }
    try {
      const current = await this.#share.current();
      if (current && current.generation !== this.#sharedGeneration) {
        // Published by another replica: count changes from now on (what it lacks of ours is not known).
        this.#sharedGeneration = current.generation;
        this.#sharedBaseline = this.#index.changes;
      }
      // No usable snapshot (none, or a broken one): this whole index is news to the cluster.
      const changed = current && current.generation !== this.#brokenGeneration
        ? this.#index.changes - (this.#sharedBaseline ?? 0)
        : this.#index.size;
      if (changed < this.#config.snapshotMinChanges) return;
      const fresh = current && current.generation !== this.#brokenGeneration &&
        Date.now() - current.publishedAt < this.#config.snapshotIntervalMs;
      if (reason === "interval" && fresh) {
        return;
      }
      await this.#publish();
    } catch (err) {
      this.#publishError = (err as Error)?.message ?? String(err);
    }
  }

  #publish(): Promise<SharedManifest | null> {
    if (!this.#share || !this.#warmed) return Promise.resolve(null);
    if (this.#publishing) return this.#publishing;
    const baseline = this.#index.changes;
    const index = this.#index;
    const started = performance.now();
    const work = this.#share.publish(index).then((manifest) => {
      if (!manifest) return null;
      this.#published++;
      this.#publishError = undefined;
      this.#sharedGeneration = manifest.generation;
      this.#sharedBaseline = baseline;
      this.#logger?.info("cache index snapshot published for other replicas", {
        generation: manifest.generation,
        vectors: manifest.size,
        bytes: manifest.bytes,
        ms: Math.round(performance.now() - started),
      });
      return manifest;
    }, (err) => {
      this.#publishError = (err as Error)?.message ?? String(err);
      this.#logger?.warn("cache index snapshot not published", { err: this.#publishError });
      return null;
    }).finally(() => this.#publishing = undefined);
    this.#publishing = work;
    return work;
  }

  #embedFailed(err: unknown): void {
    if (this.#embedFailureLogged) return;
    this.#embedFailureLogged = true;
    this.#logger?.warn("embedding failed; semantic lookups miss until it works again", { err: String(err) });
    setTimeout(() => this.#embedFailureLogged = false, 60_000);
  }

  #instruments(meter: Meter): Metrics {
    const entries = meter.createObservableGauge("amas_cache_entries", {
      description: "cache entries held by this process",
    });
    entries.addCallback((r) => r.observe(this.#entries.size));
    return {
      lookups: meter.createCounter("amas_cache_lookups", {
        description: "cache lookups by result: exact, semantic (hits), miss, skipped (not cacheable)",
      }),
      duration: meter.createHistogram("amas_cache_lookup_duration_seconds", {
        description: "cache lookup time including embedding, by result, seconds",
        unit: "s",
        advice: { explicitBucketBoundaries: [0.0001, 0.00025, ...LATENCY_BUCKETS_SECONDS] },
      }),
      rejections: meter.createCounter("amas_cache_verifier_rejections", {
        description:
          "semantic candidates above the threshold that the verifier rejected, by reason (embed_timeout: lookup skipped)",
      }),
      saved: meter.createCounter("amas_cache_saved_usd", {
        description: "upstream cost not spent because the cache answered, USD",
      }),
      embed: meter.createHistogram("amas_cache_embed_duration_seconds", {
        description: "time to embed one lookup's text (queueing in the worker pool included), seconds",
        unit: "s",
        advice: { explicitBucketBoundaries: LATENCY_BUCKETS_SECONDS },
      }),
      writes: meter.createCounter("amas_cache_writes", { description: "entries written to the store, by outcome" }),
      evictions: meter.createCounter("amas_cache_evictions", {
        description: "entries evicted because cache.maxEntries was reached",
      }),
      joins: meter.createCounter("amas_cache_in_flight_joins", {
        description:
          "calls that waited for a matching call in flight, by outcome: served, leader_failed, timeout, cancelled",
      }),
    };
  }
}

function withoutEmbedding(entry: CacheEntry): CacheEntry {
  if (entry.embedding === undefined) return entry;
  const { embedding: _drop, ...rest } = entry;
  return rest;
}
