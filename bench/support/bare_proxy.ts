/**
 * A bare Deno pass-through proxy: `Deno.serve` + one pooled `fetch` to the upstream, no parsing, no validation,
 * no metrics. The floor of any Deno gateway's added latency on this machine (two loopback hops and one extra
 * process on the same cores). Prints `listening <port>` on stdout when ready.
 *
 * deno run --allow-net bench/support/bare_proxy.ts --upstream http://127.0.0.1:PORT/v1
 */
const i = Deno.args.indexOf("--upstream");
if (i < 0) throw new Error("usage: bare_proxy.ts --upstream <base URL>");
const target = `${Deno.args[i + 1].replace(/\/+$/, "")}/chat/completions`;
const client = Deno.createHttpClient({ poolMaxIdlePerHost: 256 });

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
  const upstream = await fetch(target, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: await req.arrayBuffer(),
    client,
  });
  return new Response(await upstream.arrayBuffer(), {
    status: upstream.status,
    headers: { "content-type": upstream.headers.get("content-type") ?? "application/json" },
  });
});
console.log(`listening ${server.addr.port}`);
// Exit cleanly on SIGTERM (the bench stops it so), so that `--cpu-prof` profiles get written.
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
