/**
 * The embedded store: entries in a Map inside this process (embeddings kept as float32). TTL is honoured on every read and by a periodic sweep;
 * the number of entries is bounded (oldest written evicted first). With a data directory it writes a snapshot
 * periodically and on close and loads it at start, so a restart keeps the cache. A single process has no other
 * replicas, so `subscribe()` never emits.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { decodeEntry, encodeEntry, inNamespace } from "./codec.ts";
import type { CacheEntry, ScanOptions, Store, StoreChange, StoreStatus } from "./types.ts";

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

/** An entry as held here: the embedding as float32 (2 KB for 512-d instead of 4 KB of doubles). */
type Stored = Omit<CacheEntry, "embedding"> & { vector?: Float32Array };

function compact(entry: CacheEntry): Stored {
  const { embedding, ...rest } = entry;
  return embedding ? { ...rest, vector: Float32Array.from(embedding) } : rest;
}

/** A fresh entry for a caller (who may mutate it without touching what is stored). */
function materialize(stored: Stored): CacheEntry {
  const { vector, ...rest } = stored;
  if (!vector) return { ...rest };
  const embedding = new Array<number>(vector.length);
  for (let i = 0; i < vector.length; i++) embedding[i] = vector[i];
  return { ...rest, embedding };
}

/** File name of the snapshot inside the data directory. */
export const SNAPSHOT_FILE = "store_snapshot.jsonl";

/** The in-process store. */
export class MemoryStore implements Store {
  readonly kind = "memory" as const;
  #entries = new Map<string, Stored>();
  #maxEntries: number;
  #dataDir?: string;
  #logger?: Logger;
  #now: () => number;
  #timers: ReturnType<typeof setInterval>[] = [];
  #dirty = false;
  #closed = false;
  #snapshotting?: Promise<void>;

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

  get(id: string): Promise<CacheEntry | null> {
    const entry = this.#entries.get(id);
    if (!entry) return Promise.resolve(null);
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(id);
      return Promise.resolve(null);
    }
    return Promise.resolve(materialize(entry));
  }

  put(entry: CacheEntry): Promise<void> {
    if (entry.expiresAt <= this.#now()) return Promise.resolve();
    // Delete first so that a re-put moves the id to the end of the insertion order (the eviction order).
    this.#entries.delete(entry.id);
    this.#entries.set(entry.id, compact(entry));
    this.#dirty = true;
    if (this.#maxEntries > 0) {
      while (this.#entries.size > this.#maxEntries) {
        const oldest = this.#entries.keys().next().value as string;
        this.#entries.delete(oldest);
      }
    }
    return Promise.resolve();
  }

  delete(id: string): Promise<boolean> {
    const entry = this.#entries.get(id);
    const existed = this.#entries.delete(id) && entry !== undefined && entry.expiresAt > this.#now();
    if (entry) this.#dirty = true;
    return Promise.resolve(existed);
  }

  deleteNamespace(tenant: string, agentId?: string): Promise<number> {
    const now = this.#now();
    let n = 0;
    for (const [id, entry] of this.#entries) {
      if (!inNamespace(entry, tenant, agentId)) continue;
      this.#entries.delete(id);
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
      if (skip?.(entry.id)) {
        const { vector: _drop, ...rest } = entry;
        yield { ...rest };
      } else yield materialize(entry);
    }
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
        this.#entries.delete(id);
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
          chunk.push(encodeEntry(materialize(entry)));
          count++;
          if (chunk.length === 500) {
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
    const take = (line: string) => {
      if (!line.trim()) return;
      try {
        const entry = decodeEntry(line);
        if (entry.expiresAt > now) {
          this.#entries.set(entry.id, compact(entry));
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
      while (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
    }
    this.#logger?.info("store snapshot loaded", { entries: loaded, skipped: bad });
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
