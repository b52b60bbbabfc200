/**
 * The vector index snapshot the replicas share through the store, so that a new replica loads HNSW graphs instead of
 * building them (building 100k 512-d vectors takes minutes; loading them, seconds).
 *
 * Layout under the store's blob keys (`{p}snap:` in Redis), one namespace per embedder (`use-lite/512`, …), so
 * replicas with another embedder (a rolling upgrade) never load vectors they cannot compare with:
 * - `{emb}:current` — the id of the current generation (the pointer, switched last);
 * - `{emb}:{gen}:manifest` — JSON: format, embedder, dimension, publishedAt, the index's own manifest (scopes,
 *   labels → ids) and, per file, its size, chunk count and SHA-256;
 * - `{emb}:{gen}:{file}:{n}` — the files `HnswVectorIndex.snapshot` wrote, in chunks of `chunkBytes` (raw bytes
 *   with node-redis, base64 text over Upstash REST: `BlobStore.encoding`, recorded in the manifest);
 * - `{emb}:lock` — held by the one replica publishing (`SET NX PX`), released when it is done.
 *
 * A publisher writes a whole new generation, then switches the pointer, then lets the previous generation expire
 * after `retireAfterMs` (a replica still downloading it has that long). Until the switch a generation's keys expire
 * with the lock (`lockTtlMs`), so a publisher that died half-way leaves nothing behind for long; after it, with
 * `generationTtlMs` (renewed by the next publish, which replaces them). A reader checks
 * format, embedder, dimension, sizes and hashes; anything off means "no usable snapshot" and the caller builds.
 * Files go through a temporary directory (`Deno.makeTempDir`, removed afterwards) because hnswlib reads and writes
 * graphs only as files; at most a few chunks are in memory at once.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { BlobStore } from "../store/types.ts";
import { type HnswIndexOptions, HnswVectorIndex, type VectorIndex } from "./vector_index.ts";

/** The shared manifest of one generation. */
export interface SharedManifest {
  format: 1;
  generation: string;
  embedder: string;
  dimension: number;
  /** How the chunks are stored (`BlobStore.encoding`): a reader of the other kind cannot use them. */
  encoding: BlobStore["encoding"];
  /** Epoch ms when the snapshot was taken (entries written later reach a reader through its scan). */
  publishedAt: number;
  /** Vectors in the snapshot. */
  size: number;
  /** Total bytes of the files. */
  bytes: number;
  files: { name: string; bytes: number; chunks: number; sha256: string }[];
  /** The index's own manifest (`manifest.json` of `HnswVectorIndex.snapshot`). */
  index: { partitions: { file: string }[] } & Record<string, unknown>;
}

/** Options of {@linkcode SharedIndexSnapshot}. */
export interface SharedSnapshotOptions {
  blobs: BlobStore;
  /** `embedderId()` of the cache's embedder: the namespace of the keys. */
  embedder: string;
  dimension: number;
  /** Bytes per chunk (default 4 MiB: one Redis value, one round trip). */
  chunkBytes?: number;
  /** Lifetime of a generation's keys (default 7 days; each publish writes new keys). */
  generationTtlMs?: number;
  /** How long the previous generation stays readable after the pointer moved on (default 5 min). */
  retireAfterMs?: number;
  /** Lifetime of the publish lock (default 10 min; longer than any publish). */
  lockTtlMs?: number;
}

/** What {@linkcode SharedIndexSnapshot.download} brings back. */
export interface Downloaded {
  index: HnswVectorIndex;
  manifest: SharedManifest;
  ms: number;
}

/** Outcome of a download that did not produce an index. */
export class SnapshotUnusable extends Error {
  override name = "SnapshotUnusable";
}

const FORMAT = 1;

/** Publishes and downloads the shared index snapshot of one embedder. */
export class SharedIndexSnapshot {
  #blobs: BlobStore;
  #ns: string;
  #embedder: string;
  #dimension: number;
  #chunkBytes: number;
  #generationTtlMs: number;
  #retireAfterMs: number;
  #lockTtlMs: number;

  constructor(options: SharedSnapshotOptions) {
    this.#blobs = options.blobs;
    this.#embedder = options.embedder;
    this.#ns = options.embedder.replace(/[^\w.\/-]/g, "_");
    this.#dimension = options.dimension;
    this.#chunkBytes = options.chunkBytes ?? 4 * 1024 * 1024;
    this.#generationTtlMs = options.generationTtlMs ?? 7 * 24 * 3_600_000;
    this.#retireAfterMs = options.retireAfterMs ?? 5 * 60_000;
    this.#lockTtlMs = options.lockTtlMs ?? 10 * 60_000;
  }

  /** The current generation's manifest; null when there is none (or it is unreadable). */
  async current(): Promise<SharedManifest | null> {
    const generation = await this.#blobs.readText(`${this.#ns}:current`);
    if (!generation) return null;
    const text = await this.#blobs.readText(`${this.#ns}:${generation}:manifest`);
    if (!text) return null;
    try {
      return JSON.parse(text) as SharedManifest;
    } catch {
      return null;
    }
  }

  /**
   * Writes `index` as a new generation and makes it current; resolves null when another replica is publishing.
   * Rejects on a store failure (the previous generation stays current).
   */
  async publish(index: VectorIndex): Promise<SharedManifest | null> {
    const owner = crypto.randomUUID();
    const lock = `${this.#ns}:lock`;
    if (!(await this.#blobs.claim(lock, owner, this.#lockTtlMs))) return null;
    const dir = await Deno.makeTempDir({ prefix: "amas-index-publish-" });
    try {
      const publishedAt = Date.now();
      const size = index.size;
      await index.snapshot(dir);
      const indexManifest = JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
      const generation = `${publishedAt.toString(36)}-${owner.slice(0, 8)}`;
      const files: SharedManifest["files"] = [];
      let bytes = 0;
      for (const [n, { file }] of (indexManifest.partitions as { file: string }[]).entries()) {
        const written = await this.#upload(join(dir, file), `${this.#ns}:${generation}:${n}`);
        files.push({ name: file, ...written });
        bytes += written.bytes;
      }
      const manifest: SharedManifest = {
        format: FORMAT,
        generation,
        embedder: this.#embedder,
        dimension: this.#dimension,
        encoding: this.#blobs.encoding,
        publishedAt,
        size,
        bytes,
        files,
        index: indexManifest,
      };
      await this.#blobs.write(`${this.#ns}:${generation}:manifest`, JSON.stringify(manifest), this.#lockTtlMs);
      const previous = await this.current().catch(() => null);
      await this.#blobs.expire(this.#keysOf(manifest), this.#generationTtlMs);
      // The switch: from here on, starting replicas load this generation.
      await this.#blobs.write(`${this.#ns}:current`, generation, this.#generationTtlMs);
      if (previous && previous.generation !== generation) {
        await this.#blobs.expire(this.#keysOf(previous), this.#retireAfterMs).catch(() => {});
      }
      return manifest;
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await this.#blobs.release(lock, owner).catch(() => {});
    }
  }

  /** Throws {@linkcode SnapshotUnusable} when this replica cannot use `manifest` (format, embedder, dimension). */
  check(manifest: SharedManifest): void {
    if (manifest.format !== FORMAT) {
      throw new SnapshotUnusable(`format ${manifest.format}, this replica reads ${FORMAT}`);
    }
    if (manifest.embedder !== this.#embedder || manifest.dimension !== this.#dimension) {
      throw new SnapshotUnusable(
        `made with ${manifest.embedder}/${manifest.dimension}d, this replica uses ${this.#embedder}`,
      );
    }
    if (manifest.encoding !== this.#blobs.encoding) {
      throw new SnapshotUnusable(`chunks stored as ${manifest.encoding}, this store reads ${this.#blobs.encoding}`);
    }
    if (
      !Array.isArray(manifest.files) || !Array.isArray(manifest.index?.partitions) ||
      manifest.files.length !== manifest.index.partitions.length
    ) {
      throw new SnapshotUnusable("the manifest's file list does not match its index");
    }
    for (const [n, file] of manifest.files.entries()) {
      if (file.name !== manifest.index.partitions[n].file || /[\/\\]|^\.\.?$/.test(file.name)) {
        throw new SnapshotUnusable(`file ${n} is named ${JSON.stringify(file.name)}`);
      }
    }
  }

  /**
   * Downloads the generation `manifest` describes and restores it. Each file is loaded as soon as it is complete,
   * while the next one downloads. Rejects with {@linkcode SnapshotUnusable} when it cannot be used (see `check`,
   * missing or corrupt chunk, past `deadline` (epoch ms)), or with the store's error.
   */
  async download(
    manifest: SharedManifest,
    options: Omit<HnswIndexOptions, "dimension">,
    deadline: number,
  ): Promise<Downloaded> {
    const started = performance.now();
    this.check(manifest);
    const dir = await Deno.makeTempDir({ prefix: "amas-index-restore-" });
    // One file after the other; the restore reads each as soon as it is complete.
    const arrivals = new Map(manifest.files.map((f) => [f.name, Promise.withResolvers<void>()]));
    for (const a of arrivals.values()) a.promise.catch(() => {});
    const fetched = (async () => {
      for (const [n, file] of manifest.files.entries()) {
        const arrival = arrivals.get(file.name)!;
        try {
          await this.#download(`${this.#ns}:${manifest.generation}:${n}`, join(dir, file.name), file, deadline);
          arrival.resolve();
        } catch (err) {
          for (const a of arrivals.values()) a.reject(err);
          throw err;
        }
      }
    })();
    fetched.catch(() => {}); // observed below; this only keeps a failure from counting as unhandled meanwhile
    const arrival = (name: string) => arrivals.get(name)?.promise ?? fetched;
    try {
      await Deno.writeTextFile(join(dir, "manifest.json"), JSON.stringify(manifest.index));
      let index: HnswVectorIndex | null;
      try {
        index = await HnswVectorIndex.restore(dir, { ...options, dimension: this.#dimension }, { before: arrival });
      } catch (err) {
        // A download failure (already a reason of its own) or a file hnswlib could not read.
        if (err instanceof SnapshotUnusable) throw err;
        await fetched;
        throw new SnapshotUnusable(`restore failed: ${(err as Error).message}`);
      }
      await fetched;
      if (!index) throw new SnapshotUnusable("the index manifest is of another format or dimension");
      return { index, manifest, ms: performance.now() - started };
    } finally {
      await fetched.catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }

  #keysOf(manifest: SharedManifest): string[] {
    const keys = [`${this.#ns}:${manifest.generation}:manifest`];
    for (const [n, f] of (manifest.files ?? []).entries()) {
      for (let i = 0; i < f.chunks; i++) keys.push(`${this.#ns}:${manifest.generation}:${n}:${i}`);
    }
    return keys;
  }

  async #upload(path: string, key: string): Promise<{ bytes: number; chunks: number; sha256: string }> {
    const hash = createHash("sha256");
    const buffer = new Uint8Array(this.#chunkBytes);
    using file = await Deno.open(path, { read: true });
    let bytes = 0, chunks = 0;
    while (true) {
      // Fill a whole chunk (read() may return less than asked).
      let filled = 0;
      while (filled < buffer.length) {
        const n = await file.read(buffer.subarray(filled));
        if (n === null) break;
        filled += n;
      }
      if (filled === 0 && chunks > 0) break;
      const chunk = buffer.subarray(0, filled);
      hash.update(chunk);
      // Until the switch, a generation lives as long as the lock: a publisher that dies leaves nothing for long.
      await this.#blobs.write(`${key}:${chunks}`, chunk, this.#lockTtlMs);
      bytes += filled;
      chunks++;
      if (filled < buffer.length) break;
    }
    return { bytes, chunks, sha256: hash.digest("hex") };
  }

  async #download(key: string, path: string, file: SharedManifest["files"][number], deadline: number): Promise<void> {
    const hash = createHash("sha256");
    using out = await Deno.open(path, { write: true, create: true, truncate: true });
    let bytes = 0;
    // Two chunks in flight: the next download overlaps writing this one, and memory stays at a few chunks.
    const fetch = (i: number) => this.#blobs.read(`${key}:${i}`);
    let next = file.chunks > 0 ? fetch(0) : null;
    for (let i = 0; i < file.chunks; i++) {
      const current = next!;
      next = i + 1 < file.chunks ? fetch(i + 1) : null;
      next?.catch(() => {});
      const chunk = await current;
      if (!chunk) throw new SnapshotUnusable(`chunk ${i} of ${file.name} is missing (expired or retired)`);
      if (Date.now() > deadline) throw new SnapshotUnusable("the download took longer than its deadline");
      hash.update(chunk);
      bytes += chunk.byteLength;
      for (let written = 0; written < chunk.byteLength;) written += await out.write(chunk.subarray(written));
    }
    if (bytes !== file.bytes || hash.digest("hex") !== file.sha256) {
      throw new SnapshotUnusable(`${file.name} does not match its manifest (size or SHA-256)`);
    }
  }
}
