/**
 * The embedded store: entries in a Map inside this process. TTL is honoured on every read and by a periodic sweep;
 * the number of entries is bounded (oldest written evicted first). With a data directory it writes a snapshot
 * periodically and on close and loads it at start, so a restart keeps the cache. A single process has no other
 * replicas, so `subscribe()` never emits.
 *
 * Embeddings: the cache in the same process holds every vector in its index already, so once it has attached
 * itself with {@linkcode MemoryStore.shareVectors} an entry whose vector the index holds is kept without a copy
 * (at 100k 512-d entries that copy was ~200 MB), and reads and snapshots take the vector from the index. Vectors
 * nobody else holds (no cache attached, another embedder's) are kept here as float32, in a map beside the entries
 * (so an entry object never changes shape when its vector goes). Vectors read from a snapshot
 * at start go into a few large buffers rather than one small allocation each: the cache's warm-up takes them
 * over and the buffers are then freed whole, which returns their memory to the system (100k small buffers freed
 * one by one stay in the allocator's free lists and keep the process as large as before). The strings entries repeat
 * (tenant, agent, scope key, model) are held once (`intern.ts`).
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { decodeEmbeddingInto, decodeEntryParts, embeddingLength, encodeEntry, inNamespace } from "./codec.ts";
import { internEntry } from "./intern.ts";
import type { CacheEntry, ScanOptions, Store, StoreChange, StoreStatus, VectorSource } from "./types.ts";

/** Options of {@linkcode MemoryStore.open}. */
export interface MemoryStoreOptions {
  /** Directory for the snapshot file; none means nothing survives the process. */
  dataDir?: string;
  /** Bound on live entries; the oldest written go first (0 = unbounded). Default 500 000. */
  maxEntries?: number;
  /** Period of the expiry sweep in ms. Default 30 s. */
  sweepIntervalMs?: number;
  /** Period of snapshots in ms when `dataDir` is set (0 = only on close). Default 60 s. */
  snapshotIntervalMs?: number;
  logger?: Logger;
  /** Clock, for tests. */
  now?: () => number;
}

/** An entry as held here: without its embedding (see `#vectors`). */
type Stored = Omit<CacheEntry, "embedding">;

/**
 * Bytes of one buffer of vectors loaded from a snapshot: above glibc's largest mmap threshold (32 MB), so that each
 * buffer is its own mapping and is unmapped when freed. Pages never written are never resident.
 */
const SLAB_BYTES = 36 * 1024 * 1024;

/** Hands out float32 rows from large shared buffers. */
class Slabs {
  #slab?: Float32Array;
  #used = 0;

  /** A row holding the vector encoded in `b64` (decoded in place); throws when `b64` is malformed. */
  take(b64: string): Float32Array {
    const n = embeddingLength(b64);
    if (!this.#slab || this.#used + n > this.#slab.length) {
      this.#slab = new Float32Array(Math.max(n, Math.floor(SLAB_BYTES / 4 / Math.max(n, 1)) * n));
      this.#used = 0;
    }
    const row = this.#slab.subarray(this.#used, this.#used + n);
    decodeEmbeddingInto(b64, row);
    this.#used += n;
    return row;
  }
}

/** Whether a vector is a row of a shared buffer (see {@linkcode Slabs}). */
const shared = (v: Float32Array) => v.byteLength !== v.buffer.byteLength;

/** File name of the snapshot inside the data directory. */
export const SNAPSHOT_FILE = "store_snapshot.jsonl";

/** The in-process store. */
export class MemoryStore implements Store {
  readonly kind = "memory" as const;
  #entries = new Map<string, Stored>();
  /** Vectors no source holds, as float32 (2 KB for 512-d instead of 4 KB of doubles), by entry id. */
  #vectors = new Map<string, Float32Array>();
  #maxEntries: number;
  #dataDir?: string;
  #logger?: Logger;
  #now: () => number;
  #timers: ReturnType<typeof setInterval>[] = [];
  #dirty = false;
  #closed = false;
  #snapshotting?: Promise<void>;
  /** Where vectors not kept here are read from, the most recently attached first. */
  #sources: VectorSource[] = [];

  private constructor(options: MemoryStoreOptions) {
    this.#maxEntries = options.maxEntries ?? 500_000;
    this.#dataDir = options.dataDir;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
  }

  /** Creates the store and, when a data directory is given, loads its snapshot. */
  static async open(options: MemoryStoreOptions = {}): Promise<MemoryStore> {
    const store = new MemoryStore(options);
    if (options.dataDir) await store.#load(options.dataDir);
    const sweep = options.sweepIntervalMs ?? 30_000;
    if (sweep > 0) store.#timers.push(setInterval(() => store.sweep(), sweep));
    const snap = options.snapshotIntervalMs ?? 60_000;
    if (options.dataDir && snap > 0) {
      store.#timers.push(setInterval(() => {
        if (store.#dirty) store.snapshot().catch(() => {/* logged inside */});
      }, snap));
    }
    for (const t of store.#timers) unref(t);
    return store;
  }

  /** Reads vectors from `source` from now on instead of keeping copies (see the module notes). */
  shareVectors(source: VectorSource): void {
    this.#sources.unshift(source);
  }

  sharedEntry(entry: CacheEntry): CacheEntry | undefined {
    const held = this.#entries.get(entry.id);
    if (
      !held || held.response !== entry.response || held.createdAt !== entry.createdAt ||
      held.expiresAt !== entry.expiresAt || held.exactKey !== entry.exactKey || held.scopeKey !== entry.scopeKey ||
      held.tenant !== entry.tenant || held.agentId !== entry.agentId || held.semanticText !== entry.semanticText ||
      held.costUsd !== entry.costUsd || held.embedder !== entry.embedder
    ) return undefined;
    return held;
  }

  get(id: string): Promise<CacheEntry | null> {
    const entry = this.#entries.get(id);
    if (!entry) return Promise.resolve(null);
    if (entry.expiresAt <= this.#now()) {
      this.#drop(id);
      return Promise.resolve(null);
    }
    return Promise.resolve(this.#materialize(entry));
  }

  put(entry: CacheEntry): Promise<void> {
    if (entry.expiresAt <= this.#now()) return Promise.resolve();
    // Delete first so that a re-put moves the id to the end of the insertion order (the eviction order).
    this.#entries.delete(entry.id);
    const { embedding, ...rest } = entry;
    this.#entries.set(entry.id, internEntry(rest));
    if (embedding && !this.#sourceOf(entry)) this.#vectors.set(entry.id, Float32Array.from(embedding));
    else this.#vectors.delete(entry.id);
    this.#dirty = true;
    if (this.#maxEntries > 0) {
      while (this.#entries.size > this.#maxEntries) this.#drop(this.#entries.keys().next().value as string);
    }
    return Promise.resolve();
  }

  delete(id: string): Promise<boolean> {
    const entry = this.#entries.get(id);
    const existed = this.#drop(id) && entry !== undefined && entry.expiresAt > this.#now();
    if (entry) this.#dirty = true;
    return Promise.resolve(existed);
  }

  deleteNamespace(tenant: string, agentId?: string): Promise<number> {
    const now = this.#now();
    let n = 0;
    for (const [id, entry] of this.#entries) {
      if (!inNamespace(entry, tenant, agentId)) continue;
      this.#drop(id);
      if (entry.expiresAt > now) n++;
    }
    if (n) this.#dirty = true;
    return Promise.resolve(n);
  }

  async *scan(options: ScanOptions = {}): AsyncIterable<CacheEntry> {
    const now = this.#now();
    const skip = options.withoutEmbedding?.ids;
    // A copy, so that writes during the iteration neither break it nor show up twice.
    for (const entry of [...this.#entries.values()]) {
      if (entry.expiresAt <= now) continue;
      if (skip?.(entry.id)) yield { ...entry };
      else yield this.#materialize(entry);
      // The consumer (a cache warming its index) has taken the entry by now: if its index holds the vector, the
      // copy here goes.
      if (this.#vectors.has(entry.id) && this.#sourceOf(entry) && this.#entries.get(entry.id) === entry) {
        this.#vectors.delete(entry.id);
      }
    }
    // Rows of the snapshot's buffers that no source took get their own copy, so that the buffers can go.
    if (this.#sources.length === 0) return;
    for (const [id, vector] of this.#vectors) if (shared(vector)) this.#vectors.set(id, vector.slice());
  }

  subscribe(_listener: (change: StoreChange) => void): () => void {
    return () => {};
  }

  status(): StoreStatus {
    return { kind: "memory", connected: true, buffered: 0, dropped: 0, entries: this.#entries.size };
  }

  /** Drops expired entries; returns how many. */
  sweep(): number {
    const now = this.#now();
    let n = 0;
    for (const [id, entry] of this.#entries) {
      if (entry.expiresAt <= now) {
        this.#drop(id);
        n++;
      }
    }
    if (n) this.#dirty = true;
    return n;
  }

  /** Writes the snapshot now (temporary file, then rename, so a crash never leaves half a snapshot). */
  snapshot(): Promise<void> {
    if (!this.#dataDir) return Promise.resolve();
    // One snapshot at a time; a request during a write waits for it and then writes again.
    const previous = this.#snapshotting ?? Promise.resolve();
    const next = previous.then(() => this.#writeSnapshot(this.#dataDir!));
    this.#snapshotting = next.catch(() => {});
    return next;
  }

  async #writeSnapshot(dir: string): Promise<void> {
    this.#dirty = false;
    const path = `${dir}/${SNAPSHOT_FILE}`;
    const tmp = `${path}.tmp-${crypto.randomUUID()}`;
    const started = performance.now();
    try {
      await Deno.mkdir(dir, { recursive: true });
      const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
      const encoder = new TextEncoder();
      const now = this.#now();
      let chunk: string[] = [];
      let count = 0;
      try {
        for (const entry of [...this.#entries.values()]) {
          if (entry.expiresAt <= now) continue;
          chunk.push(encodeEntry(this.#forSnapshot(entry)));
          count++;
          // Reading a vector from an HNSW graph costs ~50 µs (one N-API call per float), so chunks stay small: the
          // event loop gets a turn every few ms.
          if (chunk.length === 100) {
            await writeAll(file, encoder.encode(chunk.join("\n") + "\n"));
            chunk = [];
          }
        }
        if (chunk.length) await writeAll(file, encoder.encode(chunk.join("\n") + "\n"));
        await file.sync();
      } finally {
        file.close();
      }
      await Deno.rename(tmp, path);
      this.#logger?.debug("store snapshot written", { entries: count, ms: Math.round(performance.now() - started) });
    } catch (err) {
      this.#dirty = true;
      await Deno.remove(tmp).catch(() => {});
      this.#logger?.warn("store snapshot failed; check that AMAS_DATA_DIR is writable", {
        error: (err as Error).message,
      });
      throw err;
    }
  }

  async #load(dir: string): Promise<void> {
    const path = `${dir}/${SNAPSHOT_FILE}`;
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        this.#logger?.warn("store snapshot unreadable; starting empty", { error: (err as Error).message });
      }
      return;
    }
    const now = this.#now();
    let loaded = 0;
    let bad = 0;
    let rest = "";
    const slabs = new Slabs();
    const take = (line: string) => {
      if (!line.trim()) return;
      try {
        const { entry, embedding } = decodeEntryParts(line);
        if (entry.expiresAt > now) {
          const vector = embedding === undefined ? undefined : slabs.take(embedding);
          this.#entries.set(entry.id, internEntry(entry));
          if (vector) this.#vectors.set(entry.id, vector);
          else this.#vectors.delete(entry.id);
          loaded++;
        }
      } catch {
        bad++;
      }
    };
    try {
      for await (const text of file.readable.pipeThrough(new TextDecoderStream())) {
        const lines = (rest + text).split("\n");
        rest = lines.pop() ?? "";
        for (const line of lines) take(line);
      }
      take(rest);
    } catch (err) {
      this.#logger?.warn("store snapshot read failed part-way", { error: (err as Error).message });
    }
    if (this.#maxEntries > 0) {
      while (this.#entries.size > this.#maxEntries) this.#drop(this.#entries.keys().next().value as string);
    }
    this.#logger?.info("store snapshot loaded", { entries: loaded, skipped: bad });
  }

  /** The attached source holding the vector of `entry` (same embedder), if any. */
  #sourceOf(entry: { id: string; embedder?: string }): VectorSource | undefined {
    if (entry.embedder === undefined) return undefined;
    for (const source of this.#sources) if (source.embedder === entry.embedder && source.has(entry.id)) return source;
    return undefined;
  }

  /** Forgets an entry and its vector; true when the entry was held. */
  #drop(id: string): boolean {
    this.#vectors.delete(id);
    return this.#entries.delete(id);
  }

  /** The vector of a held entry: kept here, or read from the source holding it. */
  #vectorOf(stored: Stored): ArrayLike<number> | undefined {
    return this.#vectors.get(stored.id) ?? this.#sourceOf(stored)?.vector(stored.id);
  }

  /** A fresh entry for a caller (who may mutate it without touching what is stored). */
  #materialize(stored: Stored): CacheEntry {
    const from = this.#vectorOf(stored);
    if (!from) return { ...stored };
    const embedding = new Array<number>(from.length);
    for (let i = 0; i < from.length; i++) embedding[i] = from[i];
    return { ...stored, embedding };
  }

  /** The entry as written to the snapshot (the vector is only read, so no copy is made of it). */
  #forSnapshot(stored: Stored): CacheEntry {
    const from = this.#vectorOf(stored);
    // encodeEntry only reads the embedding as an ArrayLike, so a Float32Array row passes as it is.
    return from ? { ...stored, embedding: from as number[] } : stored;
  }

  /** Stops the timers and writes the final snapshot. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    if (this.#dataDir) await this.snapshot().catch(() => {});
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await file.write(bytes.subarray(off));
}

/** Lets the process exit while a periodic timer is pending (whichever timer type the runtime gave us). */
export function unref(timer: ReturnType<typeof setInterval>): void {
  if (typeof timer === "number") Deno.unrefTimer(timer);
  else (timer as { unref?: () => void }).unref?.();
}
