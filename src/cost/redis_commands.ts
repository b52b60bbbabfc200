/**
 * node-redis (RESP2) behind the ledger's {@linkcode RedisCommands} seam: one connection, offline queue disabled so
 * a flush fails fast while Redis is down (the ledger keeps the increments pending), reconnecting for ever.
 *
 * @module
 */
import { createClient } from "redis";
import type { RedisCommands } from "./ledger.ts";

/** A node-redis connection for the cost ledger. */
export class NodeRedisCommands implements RedisCommands {
  #client: ReturnType<typeof createClient>;
  #closed = false;

  constructor(url: string, options: { timeoutMs?: number } = {}) {
    this.#client = createClient({
      url,
      RESP: 2,
      disableOfflineQueue: true,
      commandOptions: { timeout: options.timeoutMs ?? 2000 },
      socket: {
        connectTimeout: 2000,
        reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 10), 5000),
      },
    });
    // node-redis emits "error" on every failed reconnect; without a listener the EventEmitter would throw.
    this.#client.on("error", () => {});
    this.#client.connect().catch(() => {});
  }

  async run(commands: string[][], atomic: boolean): Promise<unknown[]> {
    if (!this.#client.isReady) throw new Error("redis is not connected");
    const multi = this.#client.multi();
    for (const command of commands) multi.addCommand(command);
    const replies = atomic ? await multi.exec() : await multi.execAsPipeline();
    return replies as unknown[];
  }

  /** Closes the connection without waiting for a reconnect. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#client.destroy();
    } catch { /* already closed */ }
  }
}
