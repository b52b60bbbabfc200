/**
 * The Upstash store: the same layout, replication and degraded mode as the Redis store ({@linkcode RemoteStore}),
 * spoken over Upstash's HTTP REST API with `@upstash/redis` (URL + token). REST has no blocking reads, so the
 * replication stream is polled (`XREAD` without `BLOCK`) every `pollIntervalMs`; each request carries the command
 * timeout as an abort signal and is not retried by the client (the store's buffer and recovery loop do that).
 *
 * @module
 */
import { Redis } from "@upstash/redis";
import type { StoreConfig } from "./config.ts";
import { type RemoteBackend, RemoteStore, type RemoteStoreOptions, type StreamMessage } from "./remote_store.ts";

/** Options of {@linkcode openUpstashStore}. */
export interface UpstashStoreOptions extends Omit<RemoteStoreOptions, "config"> {
  url: string;
  token: string;
  config: StoreConfig;
}

/** Opens an Upstash store; resolves (degraded) even when the endpoint is unreachable. */
export function openUpstashStore(options: UpstashStoreOptions): Promise<RemoteStore> {
  return RemoteStore.open(new UpstashBackend(options.url, options.token, options.config), options);
}

function messages(reply: unknown): StreamMessage[] {
  if (!Array.isArray(reply)) return [];
  return reply.map((m) => [String(m[0]), (m[1] as unknown[]).map(String)] as StreamMessage);
}

/** `@upstash/redis` behind the {@linkcode RemoteBackend} seam. */
export class UpstashBackend implements RemoteBackend {
  readonly kind = "upstash" as const;
  readonly blocking = false;
  #redis: Redis;
  #slow: Redis;

  constructor(url: string, token: string, config: StoreConfig) {
    const make = (timeoutMs: number) =>
      new Redis({
        url,
        token,
        // Raw replies: the store parses its own JSON, and a cache entry must not be turned into an object twice.
        automaticDeserialization: false,
        enableAutoPipelining: false,
        enableTelemetry: false,
        readYourWrites: false,
        retry: false,
        signal: () => AbortSignal.timeout(timeoutMs),
      });
    this.#redis = make(config.commandTimeoutMs);
    // Bulk reads of the warm-up move megabytes per request.
    this.#slow = make(config.commandTimeoutMs * 5);
  }

  #exec<T>(args: (string | number)[], client = this.#redis): Promise<T> {
    return client.exec<T>(args as [string, ...string[]]);
  }

  async connect(): Promise<void> {
    await this.ping();
  }

  async ping(): Promise<void> {
    await this.#exec(["PING"]);
  }

  eval(script: string, keys: string[], args: string[]): Promise<unknown> {
    return this.#exec(["EVAL", script, keys.length, ...keys, ...args]);
  }

  get(key: string): Promise<string | null> {
    return this.#exec<string | null>(["GET", key]);
  }

  async scan(cursor: string, match: string, count: number): Promise<[string, string[]]> {
    const [next, keys] = await this.#exec<[string | number, string[]]>([
      "SCAN",
      cursor,
      "MATCH",
      match,
      "COUNT",
      count,
    ]);
    return [String(next), keys.map(String)];
  }

  mget(keys: string[]): Promise<(string | null)[]> {
    return this.#exec<(string | null)[]>(["MGET", ...keys], this.#slow);
  }

  async xread(stream: string, afterId: string, count: number): Promise<StreamMessage[]> {
    const reply = await this.#exec<unknown>(["XREAD", "COUNT", count, "STREAMS", stream, afterId]);
    if (!Array.isArray(reply) || reply.length === 0) return [];
    return messages((reply[0] as unknown[])[1]);
  }

  async xedge(stream: string, edge: "first" | "last"): Promise<string | null> {
    const reply = await this.#exec<unknown>(
      edge === "first" ? ["XRANGE", stream, "-", "+", "COUNT", 1] : ["XREVRANGE", stream, "+", "-", "COUNT", 1],
    );
    return messages(reply)[0]?.[0] ?? null;
  }

  command(args: string[], slow?: boolean): Promise<unknown> {
    return this.#exec<unknown>(args, slow ? this.#slow : this.#redis);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
