/**
 * A fixed-latency OpenAI-compatible upstream for benchmarks: every chat completion answers after exactly
 * `--latency-ms` with a small canned body. Prints `listening <port>` on stdout when ready.
 *
 * deno run --allow-net bench/support/fixed_upstream.ts [--port 0] [--latency-ms 10]
 */
function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

const latencyMs = flag("latency-ms", 10);
let counter = 0;

const server = Deno.serve({ hostname: "127.0.0.1", port: flag("port", 0), onListen() {} }, async (req) => {
  if (req.method !== "POST") return new Response("ok");
  const body = await req.json().catch(() => ({}));
  await new Promise((r) => setTimeout(r, latencyMs));
  counter++;
  return Response.json({
    id: `chatcmpl-fixed${counter}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: body.model ?? "gpt-4o-mini",
    choices: [{
      index: 0,
      message: { role: "assistant", content: "A fixed answer of the benchmark upstream." },
      finish_reason: "stop",
    }],
    usage: { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 },
  });
});
console.log(`listening ${server.addr.port}`);
