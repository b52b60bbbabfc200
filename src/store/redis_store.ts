/**
 * The Redis store over `redis://` / `rediss://` with node-redis (RESP2). Two connections: one for commands
 * (offline queue disabled so nothing waits for a reconnect; the store bounds every command with its timeout) and
 * one dedicated to the blocking `XREAD` that tails the replication stream. Layout, replication and degraded mode: {@linkcode RemoteStore}.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createClient, RESP_TYPES } from "redis";
import type { StoreConfig } from "./config.ts";
import { type RemoteBackend, RemoteStore, type RemoteStoreOptions, type StreamMessage } from "./remote_store.ts";

function makeClient(url: string, config: StoreConfig) {
  return createClient({
    url,
    RESP: 2,
    // Nothing waits for a reconnect; command timeouts are the store's (they tolerate a blocked event loop).
    disableOfflineQueue: true,
    socket: {
      connectTimeout: config.connectTimeoutMs,
      // Reconnect for ever, exponential up to the cap: the store must come back whenever Redis does.
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 10), config.reconnectMaxDelayMs),
    },
  });
}

type Client = ReturnType<typeof makeClient>;

/** Replies as bytes (snapshot chunks), not UTF-8 strings. */
const BYTES = { [RESP_TYPES.BLOB_STRING]: Buffer };

/** Options of {@linkcode openRedisStore}. */
export interface RedisStoreOptions extends Omit<RemoteStoreOptions, "config"> {
  url: string;
  config: StoreConfig;
}

/** Opens a Redis store; resolves (degraded) even when Redis is unreachable. */
export function openRedisStore(options: RedisStoreOptions): Promise<RemoteStore> {
  return RemoteStore.open(new NodeRedisBackend(options.url, options.config), options);
}

/** Parses the raw RESP2 reply of XREAD / XRANGE into messages. */
function messages(reply: unknown): StreamMessage[] {
  if (!Array.isArray(reply)) return [];
  return reply.map((m) => [String(m[0]), (m[1] as unknown[]).map(String)] as StreamMessage);
}

/** node-redis behind the {@linkcode RemoteBackend} seam. */
export class NodeRedisBackend implements RemoteBackend {
  readonly kind = "redis" as const;
  readonly blocking = true;
  #commands: Client;
  #tail: Client;
  #closed = false;

  constructor(url: string, config: StoreConfig) {
    this.#commands = makeClient(url, config);
    this.#tail = makeClient(url, config);
    // node-redis emits "error" on every failed reconnect; without a listener the EventEmitter would throw.
    this.#commands.on("error", () => {});
    this.#tail.on("error", () => {});
  }

  async connect(): Promise<void> {
    // connect() keeps retrying while Redis is down; the store bounds the wait, and the clients keep trying.
    const a = this.#commands.connect();
    const b = this.#tail.connect();
    a.catch(() => {});
    b.catch(() => {});
    await Promise.all([a, b]);
  }

  async ping(): Promise<void> {
    await this.#commands.ping();
  }

  eval(script: string, keys: string[], args: string[]): Promise<unknown> {
    return this.#commands.sendCommand(["EVAL", script, String(keys.length), ...keys, ...args]);
  }

  get(key: string): Promise<string | null> {
    return this.#commands.sendCommand<string | null>(["GET", key]);
  }

  async scan(cursor: string, match: string, count: number): Promise<[string, string[]]> {
    const [next, keys] = await this.#commands.sendCommand<[string, string[]]>([
      "SCAN",
      cursor,
      "MATCH",
      match,
      "COUNT",
      String(count),
    ]);
    return [String(next), keys.map(String)];
  }

  mget(keys: string[]): Promise<(string | null)[]> {
    return this.#commands.sendCommand<(string | null)[]>(["MGET", ...keys]);
  }

  async xread(stream: string, afterId: string, count: number, blockMs?: number): Promise<StreamMessage[]> {
    const args = ["XREAD", "COUNT", String(count)];
    if (blockMs !== undefined) args.push("BLOCK", String(blockMs));
    const reply = await this.#tail.sendCommand<unknown>([...args, "STREAMS", stream, afterId]);
    if (!Array.isArray(reply) || reply.length === 0) return [];
    return messages((reply[0] as unknown[])[1]);
  }

  async xedge(stream: string, edge: "first" | "last"): Promise<string | null> {
    const reply = await this.#commands.sendCommand<unknown>(
      edge === "first" ? ["XRANGE", stream, "-", "+", "COUNT", "1"] : ["XREVRANGE", stream, "+", "-", "COUNT", "1"],
    );
    return messages(reply)[0]?.[0] ?? null;
  }

  command(args: string[]): Promise<unknown> {
    return this.#commands.sendCommand<unknown>(args);
  }

  async getBytes(key: string): Promise<Uint8Array | null> {
    const reply = await this.#commands.sendCommand<Buffer | null>(["GET", key], { typeMapping: BYTES });
    return reply === null ? null : new Uint8Array(reply.buffer, reply.byteOffset, reply.byteLength);
  }

  async setBytes(key: string, value: Uint8Array, px: string): Promise<void> {
    await this.#commands.sendCommand([
      "SET",
      key,
      Buffer.from(value.buffer, value.byteOffset, value.byteLength),
      "PX",
      px,
    ]);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    // destroy(): the tail is blocked in XREAD and the command client may be reconnecting; neither should wait.
    for (const client of [this.#tail, this.#commands]) {
      try {
        client.destroy();
      } catch { /* not open */ }
    }
    return Promise.resolve();
  }
}
