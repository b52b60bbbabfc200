/**
 * What the Redis and Upstash stores share: the data layout in Redis (Lua scripts, so each write is one atomic
 * round trip), the replication stream and its tailing, and degraded mode. A backend (node-redis over TCP, or
 * @upstash/redis over REST) only sends commands.
 *
 * Layout (prefix `amas:cache:` by default; tenant and agent are URI-encoded so `:` cannot make two namespaces
 * collide):
 * - `{p}e:{id}` — the entry, a JSON string (embedding as base64 float32), expiring at `expiresAt` (PXAT);
 * - `{p}nt:{tenant}` and `{p}na:{tenant}:{agent}` — sorted sets of entry ids scored by `expiresAt`, the
 *   namespace indexes used by invalidation (expired members are pruned on every put);
 * - `{p}ag:{tenant}` — the set of a tenant's agents, so a tenant invalidation finds the agent indexes;
 * - `{p}stream` — the replication stream: one message per put/delete/namespace delete with fields `o` (origin
 *   replica id) and `c` (the change), trimmed with `MAXLEN ~`.
 *
 * Degraded mode: a failed or timed-out command marks the store disconnected. While disconnected, writes go to a
 * bounded in-memory buffer (oldest dropped first, counted), reads answer from the buffer or miss, `scan()` yields
 * nothing; nothing throws and nothing waits longer than the command timeout. A recovery loop pings with
 * exponential backoff; when Redis answers it replays the buffer in order, then resynchronises: if the stream no
 * longer holds the last message this replica saw (trimmed, or Redis restarted), it rescans every entry and
 * delivers them to subscribers as puts.
 *
 * @module
 */
import type { Meter } from "@opentelemetry/api";
import type { Logger } from "../log.ts";
import type { StoreConfig } from "./config.ts";
import {
  decodeChange,
  decodeEntry,
  decodeEntryHead,
  embeddingTailLength,
  encodeChange,
  encodeEntry,
  inNamespace,
} from "./codec.ts";
import { Buffer } from "node:buffer";
import type { BlobStore, CacheEntry, ScanOptions, Store, StoreChange, StoreStatus } from "./types.ts";

/** One stream message: id and flat field/value list. */
export type StreamMessage = [id: string, fields: string[]];

/** The commands a remote store needs from a client library. Every method rejects on failure or timeout. */
export interface RemoteBackend {
  readonly kind: "redis" | "upstash";
  /** Whether `xread` can block server-side (else the tail polls). */
  readonly blocking: boolean;
  /** Connects (or checks the endpoint); rejects when it cannot within the connect timeout. */
  connect(): Promise<void>;
  ping(): Promise<void>;
  eval(script: string, keys: string[], args: string[]): Promise<unknown>;
  get(key: string): Promise<string | null>;
  scan(cursor: string, match: string, count: number): Promise<[cursor: string, keys: string[]]>;
  mget(keys: string[]): Promise<(string | null)[]>;
  /** Messages after `afterId`; `blockMs` only where `blocking`. */
  xread(stream: string, afterId: string, count: number, blockMs?: number): Promise<StreamMessage[]>;
  /** The first (`-`) or last (`+`) message id of the stream, null when empty or absent. */
  xedge(stream: string, edge: "first" | "last"): Promise<string | null>;
  /** Any other command (string arguments, raw reply); `slow` for commands moving megabytes. */
  command(args: string[], slow?: boolean): Promise<unknown>;
  /** `GET` returning the value's bytes, where the client can (absent: values travel as text only). */
  getBytes?(key: string): Promise<Uint8Array | null>;
  /** `SET key bytes PX ms`, where the client can. */
  setBytes?(key: string, value: Uint8Array, px: string): Promise<void>;
  /** Interrupts a blocked read and releases connections. */
  close(): Promise<void>;
}

/** Options of {@linkcode RemoteStore.open}. */
export interface RemoteStoreOptions {
  config: StoreConfig;
  logger?: Logger;
  meter?: Meter;
}

type PendingOp =
  | { op: "put"; entry: CacheEntry }
  | { op: "delete"; id: string }
  | { op: "delete_namespace"; tenant: string; agentId?: string };

// Shared by the scripts: the index key names of an entry, from its stored JSON (the same URI encoding as
// encodeURIComponent), so that an id leaves the indexes of the namespace it leaves. The cache derives ids from
// tenant-scoped keys, so ids never move between tenants in practice; this keeps namespace invalidation exact even if
// they did (a stale index member could otherwise delete an entry now owned by another namespace).
const UNINDEX = `
local function enc(s)
  return (string.gsub(s, "[^%w%-_%.!~%*'%(%)]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
local function unindex(value, id, prefix)
  local ok, o = pcall(cjson.decode, value)
  if ok and type(o) == 'table' and type(o.tenant) == 'string' and type(o.agentId) == 'string' then
    local t = enc(o.tenant)
    redis.call('ZREM', prefix .. 'nt:' .. t, id)
    redis.call('ZREM', prefix .. 'na:' .. t .. ':' .. enc(o.agentId), id)
  end
end
`;

// KEYS: entry, tenant index, agent index, tenant's agent set, stream.
// ARGV: value, expiresAt, id, now, agent (encoded), maxlen, origin, change, key prefix.
const PUT_SCRIPT = UNINDEX + `
local old = redis.call('GET', KEYS[1])
if old then unindex(old, ARGV[3], ARGV[9]) end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
for i = 2, 3 do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[3])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[4])
  local top = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
  if top[2] then redis.call('PEXPIREAT', KEYS[i], top[2]) end
end
redis.call('SADD', KEYS[4], ARGV[5])
local top = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if top[2] then redis.call('PEXPIREAT', KEYS[4], top[2]) end
return redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[6], '*', 'o', ARGV[7], 'c', ARGV[8])
`;

// KEYS: entry, stream. ARGV: maxlen, origin, change, id, key prefix.
const DELETE_SCRIPT = UNINDEX + `
local old = redis.call('GET', KEYS[1])
if old then unindex(old, ARGV[4], ARGV[5]) end
local n = redis.call('DEL', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'o', ARGV[2], 'c', ARGV[3])
return n
`;

// KEYS: namespace index, tenant's agent set, stream.
// ARGV: entry key prefix, maxlen, origin, change, 'tenant' | 'agent', agent index prefix of the tenant, now,
// tenant index. Members scored in the past are expired entries: their ids are not this namespace's any more.
const DELETE_NAMESPACE_SCRIPT = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[7], '+inf')
local n = 0
for i = 1, #ids, 500 do
  local keys, members = {}, {}
  for j = i, math.min(i + 499, #ids) do
    keys[#keys + 1] = ARGV[1] .. ids[j]
    members[#members + 1] = ids[j]
  end
  n = n + redis.call('DEL', unpack(keys))
  if ARGV[5] == 'agent' then redis.call('ZREM', ARGV[8], unpack(members)) end
end
redis.call('DEL', KEYS[1])
if ARGV[5] == 'tenant' then
  for _, a in ipairs(redis.call('SMEMBERS', KEYS[2])) do redis.call('DEL', ARGV[6] .. a) end
  redis.call('DEL', KEYS[2])
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', 'o', ARGV[3], 'c', ARGV[4])
return n
`;

// KEYS: entry keys. ARGV: end offset (negative: from the end). Each value up to that offset (GETRANGE, so Redis
// copies only those bytes); "" for an absent key or a value shorter than the cut.
const HEADS_SCRIPT = `
local out = {}
for i, k in ipairs(KEYS) do out[i] = redis.call('GETRANGE', k, 0, ARGV[1]) end
return out
`;

// KEYS: lock. ARGV: owner.
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

// KEYS: keys to expire. ARGV: ttl ms.
const EXPIRE_SCRIPT = `
for _, k in ipairs(KEYS) do redis.call('PEXPIRE', k, ARGV[1]) end
return #KEYS
`;

/** Error codes that mean "not now" rather than "never": such a write waits in the buffer like an outage's. */
const TRANSIENT_CODES = new Set(["LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "READONLY", "OOM"]);

/**
 * Whether Redis answered with an error reply (`ERR …`, `WRONGTYPE …`, possibly behind a client prefix), as opposed
 * to not answering (socket closed, timeout, HTTP failure) or answering "not now".
 */
export function isRejection(err: unknown): boolean {
  const message = (err as Error)?.message ?? "";
  const code = /^([A-Z][A-Z_]{2,}) /.exec(message)?.[1];
  return code !== undefined && !TRANSIENT_CODES.has(code);
}

/** Orders two stream ids (`ms-seq`). */
export function compareStreamIds(a: string, b: string): number {
  const [am, as = "0"] = a.split("-");
  const [bm, bs = "0"] = b.split("-");
  return Number(am) - Number(bm) || Number(as) - Number(bs);
}

const nativeFromBase64 = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array }).fromBase64;

function fromBase64(text: string): Uint8Array {
  return nativeFromBase64 ? nativeFromBase64(text) : new Uint8Array(Buffer.from(text, "base64"));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** A store backed by Redis (through a {@linkcode RemoteBackend}) with replication and degraded mode. */
export class RemoteStore implements Store {
  readonly kind: "redis" | "upstash";
  /** This replica's id on the stream; its own messages are skipped by its tail. */
  readonly origin: string = crypto.randomUUID();
  /** Shared values beside the entries (the cache's index snapshot). */
  readonly blobs: BlobStore;
  #backend: RemoteBackend;
  #config: StoreConfig;
  #logger?: Logger;
  #connected = false;
  #buffer: PendingOp[] = [];
  #dropped = 0;
  #rejectedCount = 0;
  #rejectedCounter?: { add(n: number): void };
  #droppedCounter?: { add(n: number, attrs?: Record<string, string>): void };
  #listeners = new Set<(change: StoreChange) => void>();
  /** Last stream id seen; null = unknown (never connected), so the first connection resynchronises in full. */
  #lastId: string | null = null;
  /** A scan failed or was refused: the next resynchronisation delivers every entry. */
  #rescanPending = false;
  #closing = new AbortController();
  #tail?: Promise<void>;
  #p: string;

  private constructor(backend: RemoteBackend, options: RemoteStoreOptions) {
    this.kind = backend.kind;
    this.#backend = backend;
    this.blobs = this.#blobStore();
    this.#config = options.config;
    this.#logger = options.logger?.child({ component: "store", store: backend.kind });
    this.#p = options.config.keyPrefix;
    const meter = options.meter;
    if (meter) {
      const attrs = { store: backend.kind };
      meter.createObservableGauge("amas_store_buffered_writes", {
        description: "cache store writes waiting for Redis to come back",
      }).addCallback((r) => r.observe(this.#buffer.length, attrs));
      meter.createObservableGauge("amas_store_connected", {
        description: "1 when the cache store reaches Redis, 0 while degraded",
      }).addCallback((r) => r.observe(this.#connected ? 1 : 0, attrs));
      const counter = meter.createCounter("amas_store_dropped_writes", {
        description: "cache store writes dropped because the buffer was full while Redis was unreachable",
      });
      this.#droppedCounter = { add: (n) => counter.add(n, attrs) };
      const rejected = meter.createCounter("amas_store_rejected_writes", {
        description: "cache store writes Redis answered with an error (not an outage), dropped",
      });
      this.#rejectedCounter = { add: (n) => rejected.add(n, attrs) };
      // Exported at 0 from the start, so alerts on its rate see a series before the first drop.
      counter.add(0, attrs);
    }
  }

  /**
   * Connects (bounded by the connect timeout) and starts tailing the stream. When Redis is unreachable the store
   * still opens, degraded, and connects in the background.
   */
  static async open(backend: RemoteBackend, options: RemoteStoreOptions): Promise<RemoteStore> {
    const store = new RemoteStore(backend, options);
    try {
      await store.#timed(backend.connect(), options.config.connectTimeoutMs);
      // Changes made while this replica warms are replayed from here, so none falls between scan and tail.
      store.#lastId = (await store.#timed(backend.xedge(store.#stream, "last"))) ?? "0-0";
      store.#connected = true;
    } catch (err) {
      store.#logger?.warn("redis unreachable at start; serving degraded until it answers", {
        error: (err as Error).message,
      });
    }
    store.#tail = store.#run();
    return store;
  }

  get #stream(): string {
    return `${this.#p}stream`;
  }

  /** Whether Redis answers right now. */
  get connected(): boolean {
    return this.#connected;
  }

  async get(id: string): Promise<CacheEntry | null> {
    const pending = this.#fromBuffer(id);
    if (pending !== undefined) return pending;
    if (!this.#connected) return null;
    try {
      const raw = await this.#timed(this.#backend.get(`${this.#p}e:${id}`));
      if (raw === null) return null;
      const entry = decodeEntry(raw);
      return entry.expiresAt > Date.now() ? entry : null;
    } catch (err) {
      // A value that is not an entry (or an error reply) is a miss; only silence means Redis is gone.
      if (!(err instanceof SyntaxError) && !isRejection(err) && (err as Error)?.message !== "not a cache entry") {
        this.#fail(err);
      }
      return null;
    }
  }

  async put(entry: CacheEntry): Promise<void> {
    if (entry.expiresAt <= Date.now()) return;
    await this.#write({ op: "put", entry });
  }

  /** Resolves false when Redis is unreachable (the delete is buffered, whether it existed is unknown). */
  async delete(id: string): Promise<boolean> {
    return Number(await this.#write({ op: "delete", id }) ?? 0) > 0;
  }

  /** Resolves 0 when Redis is unreachable (the invalidation is buffered and applied when it returns). */
  async deleteNamespace(tenant: string, agentId?: string): Promise<number> {
    const op: PendingOp = agentId === undefined
      ? { op: "delete_namespace", tenant }
      : { op: "delete_namespace", tenant, agentId };
    return Number(await this.#write(op) ?? 0);
  }

  async *scan(options: ScanOptions = {}): AsyncIterable<CacheEntry> {
    if (!this.#connected) {
      // Whoever warms from this scan gets nothing now: deliver everything once Redis answers.
      this.#rescanPending = true;
      return;
    }
    const seen = new Set<string>();
    const inFlight: Promise<CacheEntry[]>[] = [];
    const now = Date.now();
    let cursor = "0";
    try {
      do {
        const [next, keys] = await this.#timed(
          this.#backend.scan(cursor, `${this.#p}e:*`, this.#config.scanBatch),
        );
        cursor = next;
        // Several reads in flight overlap Redis's work with decoding here.
        if (keys.length) inFlight.push(this.#read(keys, options));
        while (inFlight.length >= 4) {
          for (const entry of await inFlight.shift()!) {
            if (entry.expiresAt <= now || seen.has(entry.id)) continue;
            seen.add(entry.id);
            yield entry;
          }
        }
      } while (cursor !== "0");
      while (inFlight.length) {
        for (const entry of await inFlight.shift()!) {
          if (entry.expiresAt <= now || seen.has(entry.id)) continue;
          seen.add(entry.id);
          yield entry;
        }
      }
    } catch (err) {
      // Settle what is still in flight so nothing rejects unobserved.
      await Promise.allSettled(inFlight);
      this.#logger?.warn("scan of the store stopped part-way; the index warms from the stream instead", {
        error: (err as Error).message,
        entries: seen.size,
      });
      this.#rescanPending = true;
      await this.#failUnlessAlive(err);
    }
  }

  /**
   * The entries of `keys` (absent and unreadable ones left out). Those the caller holds vectors for are read only up
   * to their embedding (GETRANGE in one script: ~1/4 of the bytes); a value that does not end as expected (another
   * dimension, no embedding) is read again in full.
   */
  async #read(keys: string[], options: ScanOptions): Promise<CacheEntry[]> {
    const slow = this.#config.commandTimeoutMs * 5;
    const skip = options.withoutEmbedding;
    const idAt = `${this.#p}e:`.length;
    const light: string[] = [], full: string[] = [];
    for (const key of keys) (skip?.ids(key.slice(idAt)) ? light : full).push(key);
    const out: CacheEntry[] = [];
    if (light.length) {
      const cut = String(-(embeddingTailLength(skip!.dimension) + 1));
      const heads = await this.#timed(this.#backend.eval(HEADS_SCRIPT, light, [cut]), slow) as string[];
      for (let i = 0; i < light.length; i++) {
        const entry = heads[i] ? decodeEntryHead(String(heads[i])) : null;
        if (entry && entry.id === light[i].slice(idAt)) out.push(entry);
        else full.push(light[i]);
      }
    }
    if (full.length) {
      const values = await this.#timed(this.#backend.mget(full), slow);
      for (const raw of values) {
        if (raw === null) continue;
        try {
          out.push(decodeEntry(raw));
        } catch { /* not an entry: skipped */ }
      }
    }
    return out;
  }

  /**
   * Shared values beside the entries (`{p}snap:…`). Bytes are stored as they are where the client can send and
   * receive them (node-redis), else as base64 text (REST carries JSON text); `encoding` says which, so a reader of
   * the other kind knows it cannot use them. Every call is bounded by 5 command timeouts.
   */
  #blobStore(): BlobStore {
    const backend = this.#backend;
    const binary = backend.getBytes !== undefined && backend.setBytes !== undefined;
    return {
      encoding: binary ? "binary" : "base64",
      write: async (key, value, ttlMs) => {
        const px = String(Math.max(1, Math.round(ttlMs)));
        if (typeof value !== "string" && binary) {
          await this.#bounded(backend.setBytes!(this.#blobKey(key), value, px));
          return;
        }
        const text = typeof value === "string"
          ? value
          : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
        await this.#blob(["SET", this.#blobKey(key), text, "PX", px]);
      },
      read: async (key) => {
        if (binary) return await this.#bounded(backend.getBytes!(this.#blobKey(key)));
        const text = await this.#blob(["GET", this.#blobKey(key)]);
        if (text === null || text === undefined) return null;
        return fromBase64(String(text));
      },
      readText: async (key) => {
        const text = await this.#blob(["GET", this.#blobKey(key)]);
        return text === null || text === undefined ? null : String(text);
      },
      claim: async (key, owner, ttlMs) => {
        const reply = await this.#blob(["SET", this.#blobKey(key), owner, "NX", "PX", String(Math.round(ttlMs))]);
        return reply !== null && reply !== undefined;
      },
      release: async (key, owner) => {
        await this.#bounded(backend.eval(RELEASE_SCRIPT, [this.#blobKey(key)], [owner]));
      },
      expire: async (keys, ttlMs) => {
        for (let i = 0; i < keys.length; i += 500) {
          const batch = keys.slice(i, i + 500).map((k) => this.#blobKey(k));
          await this.#bounded(backend.eval(EXPIRE_SCRIPT, batch, [String(Math.max(1, Math.round(ttlMs)))]));
        }
      },
    };
  }

  #blobKey(key: string): string {
    return `${this.#p}snap:${key}`;
  }

  #blob(args: string[]): Promise<unknown> {
    return this.#bounded(this.#backend.command(args, true));
  }

  #bounded<T>(command: Promise<T>): Promise<T> {
    if (!this.#connected) {
      command.catch(() => {});
      return Promise.reject(new Error("the store is not connected to redis"));
    }
    return this.#timed(command, this.#config.commandTimeoutMs * 5);
  }

  /**
   * Delivers other replicas' changes. After a gap in the stream (Redis restarted, or this replica was away longer
   * than the stream keeps), every entry is delivered again as a put: applying a put must be idempotent. Subscribe
   * before `scan()` so that nothing written during the warm-up is missed.
   */
  subscribe(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  status(): StoreStatus {
    return {
      kind: this.kind,
      connected: this.#connected,
      buffered: this.#buffer.length,
      dropped: this.#dropped,
      rejected: this.#rejectedCount,
    };
  }

  /** Stops tailing, tries to flush the buffer (bounded by a few command timeouts) and disconnects. */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    if (this.#buffer.length) {
      // Keep trying for a few command timeouts: the client may be between two reconnect attempts.
      const deadline = Date.now() + this.#config.commandTimeoutMs * 3;
      while (this.#buffer.length && Date.now() < deadline) {
        try {
          await this.#timed(this.#backend.ping());
          while (this.#buffer.length && Date.now() < deadline) await this.#flushOne();
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      if (this.#buffer.length) {
        this.#logger?.warn("closing with unflushed cache writes", { buffered: this.#buffer.length });
      }
    }
    await this.#backend.close().catch(() => {});
    await this.#tail?.catch(() => {});
  }

  // ---- writes ----

  async #write(op: PendingOp): Promise<unknown> {
    if (this.#connected && this.#buffer.length === 0) {
      try {
        return await this.#execute(op);
      } catch (err) {
        if (isRejection(err)) {
          this.#rejected(op, err);
          return undefined;
        }
        this.#fail(err);
      }
    }
    this.#enqueue(op);
    return undefined;
  }

  /** Replays the oldest buffered write; one that Redis refuses is dropped, so it cannot block the buffer. */
  async #flushOne(): Promise<void> {
    const op = this.#buffer[0];
    try {
      await this.#execute(op);
    } catch (err) {
      if (!isRejection(err)) throw err;
      this.#rejected(op, err);
    }
    if (this.#buffer[0] === op) this.#buffer.shift();
  }

  /** Redis answered with an error (not an outage): retrying would fail the same way, so the write is dropped. */
  #rejected(op: PendingOp, err: unknown): void {
    this.#rejectedCount++;
    this.#rejectedCounter?.add(1);
    this.#logger?.error("redis refused a cache store write; dropped", {
      op: op.op,
      error: ((err as Error)?.message ?? String(err)).slice(0, 300),
    });
  }

  #enqueue(op: PendingOp): void {
    const max = this.#config.maxBufferedWrites;
    this.#buffer.push(op);
    if (this.#buffer.length > max) {
      const n = this.#buffer.length - max;
      this.#buffer.splice(0, n);
      this.#dropped += n;
      this.#droppedCounter?.add(n);
    }
  }

  /** The answer the buffer gives for `id`: an entry, null (deleted), or undefined (the buffer does not know). */
  #fromBuffer(id: string): CacheEntry | null | undefined {
    const namespaceDeletes: { tenant: string; agentId?: string }[] = [];
    for (let i = this.#buffer.length - 1; i >= 0; i--) {
      const op = this.#buffer[i];
      if (op.op === "delete" && op.id === id) return null;
      if (op.op === "delete_namespace") namespaceDeletes.push(op);
      if (op.op === "put" && op.entry.id === id) {
        if (namespaceDeletes.some((ns) => inNamespace(op.entry, ns.tenant, ns.agentId))) return null;
        return op.entry.expiresAt > Date.now() ? op.entry : null;
      }
    }
    return undefined;
  }

  #execute(op: PendingOp): Promise<unknown> {
    const p = this.#p;
    const maxLen = String(this.#config.streamMaxLen);
    const change = encodeChange(op);
    if (op.op === "put") {
      const e = op.entry;
      const tenant = encodeURIComponent(e.tenant);
      const agent = encodeURIComponent(e.agentId);
      return this.#timed(this.#backend.eval(
        PUT_SCRIPT,
        [`${p}e:${e.id}`, `${p}nt:${tenant}`, `${p}na:${tenant}:${agent}`, `${p}ag:${tenant}`, this.#stream],
        [encodeEntry(e), String(e.expiresAt), e.id, String(Date.now()), agent, maxLen, this.origin, change, p],
      ));
    }
    if (op.op === "delete") {
      return this.#timed(
        this.#backend.eval(DELETE_SCRIPT, [`${p}e:${op.id}`, this.#stream], [maxLen, this.origin, change, op.id, p]),
      );
    }
    const tenant = encodeURIComponent(op.tenant);
    const index = op.agentId === undefined ? `${p}nt:${tenant}` : `${p}na:${tenant}:${encodeURIComponent(op.agentId)}`;
    return this.#timed(this.#backend.eval(
      DELETE_NAMESPACE_SCRIPT,
      [index, `${p}ag:${tenant}`, this.#stream],
      [
        `${p}e:`,
        maxLen,
        this.origin,
        change,
        op.agentId === undefined ? "tenant" : "agent",
        `${p}na:${tenant}:`,
        String(Date.now()),
        `${p}nt:${tenant}`,
      ],
    ));
  }

  // ---- connection state ----

  #fail(err: unknown): void {
    if (!this.#connected || this.#closing.signal.aborted) return;
    this.#connected = false;
    this.#logger?.warn("redis unreachable; cache store degraded (serving from memory, buffering writes)", {
      error: (err as Error)?.message ?? String(err),
    });
  }

  /**
   * Rejects when `promise` takes longer than `ms`. A timer that fires late means the event loop was blocked (a
   * start-up burst, a long synchronous index build): the reply may be sitting unread, so it gets one more short
   * chance before the store calls Redis unreachable.
   */
  #timed<T>(promise: Promise<T>, ms = this.#config.commandTimeoutMs): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const started = performance.now();
    const timeout = new Promise<never>((_, reject) => {
      let extended = false;
      const check = () => {
        const late = performance.now() - started - ms;
        if (!extended && late > 50) {
          extended = true;
          timer = setTimeout(check, 100);
          return;
        }
        reject(new Error(`redis command timed out after ${ms} ms`));
      };
      timer = setTimeout(check, ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  // ---- tail and recovery ----

  async #run(): Promise<void> {
    const signal = this.#closing.signal;
    while (!signal.aborted) {
      if (!this.#connected) {
        await this.#recover();
        continue;
      }
      if (this.#rescanPending) {
        // A warm-up scan failed while Redis stayed reachable: deliver everything now (the tail keeps its place).
        this.#rescanPending = false;
        let n = 0;
        for await (const entry of this.scan()) {
          this.#emit({ op: "put", entry });
          n++;
        }
        this.#logger?.info("store rescanned after a failed scan", { entries: n, complete: !this.#rescanPending });
        continue;
      }
      try {
        const block = this.#backend.blocking ? this.#config.blockMs : undefined;
        const messages = await this.#timed(
          this.#backend.xread(this.#stream, this.#lastId ?? "0-0", 1_000, block),
          this.#config.commandTimeoutMs + (block ?? 0),
        );
        if (signal.aborted) return;
        this.#deliver(messages);
        if (!this.#backend.blocking && messages.length < 1_000) await sleep(this.#config.pollIntervalMs, signal);
      } catch (err) {
        if (signal.aborted) return;
        await this.#failUnlessAlive(err);
      }
    }
  }

  /**
   * A slow blocking read or a big scan page is weak evidence that Redis is gone (a starved process sees the same):
   * only a failed ping as well marks the store degraded.
   */
  async #failUnlessAlive(err: unknown): Promise<void> {
    try {
      await this.#timed(this.#backend.ping());
      this.#logger?.debug("redis read failed but redis answers a ping", { error: (err as Error)?.message });
    } catch {
      this.#fail(err);
    }
  }

  #deliver(messages: StreamMessage[]): void {
    for (const [id, fields] of messages) {
      this.#lastId = id;
      let origin: string | undefined;
      let raw: string | undefined;
      for (let i = 0; i + 1 < fields.length; i += 2) {
        if (fields[i] === "o") origin = fields[i + 1];
        else if (fields[i] === "c") raw = fields[i + 1];
      }
      if (origin === this.origin || raw === undefined) continue;
      const change = decodeChange(raw);
      if (!change) continue;
      this.#logger?.debug("store change from another replica", { op: change.op, streamId: id });
      this.#emit(change);
    }
  }

  #emit(change: StoreChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (err) {
        this.#logger?.error("store change listener failed", { error: (err as Error).message, op: change.op });
      }
    }
  }

  async #recover(): Promise<void> {
    const signal = this.#closing.signal;
    let delay = 100;
    while (!signal.aborted) {
      try {
        await this.#timed(this.#backend.ping());
        const flushed = this.#buffer.length;
        while (this.#buffer.length) await this.#flushOne();
        const rescanned = await this.#resync();
        this.#connected = true;
        this.#logger?.info("redis reachable again; cache store resynchronised", { flushed, rescanned });
        return;
      } catch {
        await sleep(delay, signal);
        delay = Math.min(delay * 2, this.#config.reconnectMaxDelayMs);
      }
    }
  }

  /** Rescans when the stream lost what this replica has not read; returns the number of entries redelivered. */
  async #resync(): Promise<number> {
    const first = await this.#timed(this.#backend.xedge(this.#stream, "first"));
    const gap = this.#rescanPending || this.#lastId === null ||
      (first !== null && compareStreamIds(first, this.#lastId) > 0);
    if (!gap) return 0;
    this.#rescanPending = false;
    const last = await this.#timed(this.#backend.xedge(this.#stream, "last"));
    // scan() only runs while connected; the rescan is part of getting there.
    this.#connected = true;
    let n = 0;
    let complete = false;
    try {
      for await (const entry of this.scan()) {
        this.#emit({ op: "put", entry });
        n++;
      }
      // scan() swallows errors (it serves the warm-up too); a failure shows as the store marked disconnected.
      complete = this.#connected;
    } finally {
      this.#connected = false;
    }
    if (!complete) {
      this.#rescanPending = true;
      throw new Error("rescan of the store failed");
    }
    this.#lastId = last ?? "0-0";
    return n;
  }
}
