/**
 * Test support: a small HTTP server that speaks Upstash's REST protocol and forwards every command to a real
 * redis-server, so `@upstash/redis` can be tested without the Upstash service. It implements what the client
 * sends: `POST /` with a JSON command array, `POST /pipeline` and `POST /multi-exec` with an array of them,
 * `Authorization: Bearer <token>`, and `Upstash-Encoding: base64` replies (every string base64-encoded except the
 * status `OK`, numbers and nulls as they are, arrays recursively). Errors are `{ "error": "…" }` with status 400
 * (a command error) or 500 (Redis unreachable); pipelines report per command.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createClient } from "redis";

/** A running bridge. */
export interface UpstashBridge {
  /** `http://127.0.0.1:<port>` */
  url: string;
  token: string;
  /** Requests served so far, by path. */
  requests: Record<string, number>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

type Reply = string | number | null | Reply[] | { [k: string]: Reply };

function encode(value: unknown, base64: boolean): Reply {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map((v) => encode(v, base64));
  if (value instanceof Uint8Array) {
    return base64 ? Buffer.from(value).toString("base64") : Buffer.from(value).toString();
  }
  if (typeof value === "object") {
    // RESP2 never gives maps; be safe for clients configured otherwise.
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => [encode(k, base64), encode(v, base64)]);
  }
  const s = String(value);
  if (!base64 || s === "OK") return s;
  return Buffer.from(s, "utf8").toString("base64");
}

function isCommand(x: unknown): x is (string | number | boolean)[] {
  return Array.isArray(x) && x.length > 0 && x.every((a) => ["string", "number", "boolean"].includes(typeof a));
}

/** Starts a bridge on a free loopback port in front of `redisUrl`. */
export async function startUpstashBridge(redisUrl: string, token = "test-token-" + crypto.randomUUID()): Promise<
  UpstashBridge
> {
  const client = createClient({
    url: redisUrl,
    RESP: 2,
    disableOfflineQueue: true,
    socket: { connectTimeout: 1_000, reconnectStrategy: (n: number) => Math.min(50 * 2 ** n, 200) },
  });
  client.on("error", () => {});
  await client.connect();
  const requests: Record<string, number> = {};

  const run = async (cmd: (string | number | boolean)[]): Promise<unknown> => {
    return await client.sendCommand(cmd.map(String));
  };
  const errorOf = (err: unknown): { error: string; down: boolean } => {
    const message = (err as Error)?.message ?? String(err);
    // Redis error replies start with an upper-case code (ERR, WRONGTYPE, NOSCRIPT…); anything else from
    // node-redis ("The client is closed", socket errors) means Redis is away.
    const down = !/^[A-Z][A-Z_]+ /.test(message);
    return { error: message, down };
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    requests[path] = (requests[path] ?? 0) + 1;
    if (req.headers.get("authorization") !== `Bearer ${token}`) {
      return Response.json({ error: "Unauthorized" }, { status: 401 });
    }
    if (req.method !== "POST") return Response.json({ error: "ERR only POST is supported" }, { status: 405 });
    const base64 = req.headers.get("upstash-encoding")?.toLowerCase() === "base64";
    let body: unknown;
    try {
      body = await req.json();
    } catch {
      return Response.json({ error: "ERR failed to parse command" }, { status: 400 });
    }
    if (path === "/" || path === "") {
      if (!isCommand(body)) return Response.json({ error: "ERR failed to parse command" }, { status: 400 });
      try {
        return Response.json({ result: encode(await run(body), base64) });
      } catch (err) {
        const { error, down } = errorOf(err);
        return Response.json({ error }, { status: down ? 500 : 400 });
      }
    }
    if (path === "/pipeline" || path === "/multi-exec") {
      if (!Array.isArray(body) || !body.every(isCommand)) {
        return Response.json({ error: "ERR failed to parse pipeline" }, { status: 400 });
      }
      const commands = body as (string | number | boolean)[][];
      if (path === "/pipeline") {
        const out = await Promise.all(commands.map(async (cmd) => {
          try {
            return { result: encode(await run(cmd), base64) };
          } catch (err) {
            return { error: errorOf(err).error };
          }
        }));
        return Response.json(out);
      }
      // A transaction: MULTI … EXEC on one connection; a failing command answers with its error in its place.
      const tx = client.multi();
      for (const cmd of commands) tx.addCommand(cmd.map(String));
      try {
        const replies = await tx.exec();
        return Response.json((replies as unknown[]).map((r) => ({ result: encode(r, base64) })));
      } catch (err) {
        const multi = err as { replies?: unknown[]; errorIndexes?: number[] };
        if (Array.isArray(multi.replies) && Array.isArray(multi.errorIndexes)) {
          return Response.json(
            multi.replies.map((r, i) =>
              multi.errorIndexes!.includes(i) ? { error: (r as Error).message } : { result: encode(r, base64) }
            ),
          );
        }
        const { error, down } = errorOf(err);
        return Response.json({ error }, { status: down ? 500 : 400 });
      }
    }
    return Response.json({ error: `ERR unknown path ${path}` }, { status: 404 });
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  const close = async () => {
    await server.shutdown();
    try {
      client.destroy();
    } catch { /* closed */ }
  };
  return { url, token, requests, close, [Symbol.asyncDispose]: close };
}
