/**
 * Test support: a real redis-server of the test's own, on a free port, that a test may stop and restart at will
 * without touching any other Redis on the machine.
 *
 * @module
 */

/** A free TCP port on the loopback interface. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A redis-server child process. */
export class TestRedis {
  readonly port: number;
  #child?: Deno.ChildProcess;

  private constructor(port: number) {
    this.port = port;
  }

  /** Starts a fresh redis-server (no persistence) on a free port. */
  static async start(): Promise<TestRedis> {
    const redis = new TestRedis(freePort());
    await redis.restart();
    return redis;
  }

  /** `redis://127.0.0.1:<port>` */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Whether the server is running. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Starts the server again on the same port (empty: it keeps nothing on disk). */
  async restart(): Promise<void> {
    if (this.#child) return;
    this.#child = new Deno.Command("redis-server", {
      args: ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
        await conn.write(new TextEncoder().encode("PING\r\n"));
        const buf = new Uint8Array(16);
        const n = await conn.read(buf);
        conn.close();
        if (n && new TextDecoder().decode(buf.subarray(0, n)).startsWith("+PONG")) return;
      } catch { /* not up yet */ }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not start on port ${this.port}; is redis-server installed?`);
  }

  /** Stops the server (SIGKILL: like a crash, nothing flushed). */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
