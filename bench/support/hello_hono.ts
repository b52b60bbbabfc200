/**
 * A bare Hono hello-world on Deno.serve: the floor any Hono gateway on this machine starts from.
 * Prints `listening <port>` on stdout when ready.
 *
 * deno run --allow-net bench/support/hello_hono.ts
 */
import { Hono } from "hono";

const app = new Hono();
app.all("*", (c) => c.text("hello"));
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
console.log(`listening ${server.addr.port}`);
