/**
 * The official `openai` npm SDK, a real client, against the gateway's embedded default.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { startGateway } from "../support/gateway.ts";

Deno.test("the openai SDK completes a chat and a streamed chat", async () => {
  await using gw = await startGateway();
  const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused-without-keys", maxRetries: 0 });

  const completion = await client.chat.completions.create({
    model: "sim-small",
    messages: [{ role: "user", content: "Name three prime numbers." }],
  });
  assert.equal(completion.object, "chat.completion");
  assert.match(
    completion.choices[0].message.content ?? "",
    /^\[sim-small [0-9a-f]{16}\] re: Name three prime numbers\./,
  );
  assert.ok((completion.usage?.completion_tokens ?? 0) > 0);

  const stream = await client.chat.completions.create({
    model: "sim-large",
    messages: [{ role: "user", content: "Name three prime numbers." }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = "";
  let usage: OpenAI.CompletionUsage | undefined | null;
  let finish: string | null = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? "";
    finish = chunk.choices[0]?.finish_reason ?? finish;
    if (chunk.usage) usage = chunk.usage;
  }
  assert.match(text, /^\[sim-large [0-9a-f]{16}\] re: Name three prime numbers\./);
  assert.equal(finish, "stop");
  assert.ok(usage && usage.total_tokens > 0, "usage chunk delivered when include_usage is set");

  const { data: response, response: raw } = await client.chat.completions.create({
    model: "sim-small",
    messages: [{ role: "user", content: "headers?" }],
  }).withResponse();
  assert.ok(response.id);
  assert.ok(raw.headers.get("x-amas-request-id"));
  assert.match(raw.headers.get("server-timing") ?? "", /gateway;dur=[\d.]+.*upstream;dur=[\d.]+/);
});

Deno.test("the openai SDK sees OpenAI-shaped errors with the right status", async () => {
  await using gw = await startGateway({ env: { AMAS_API_KEYS: "acme=sk-acme-0001" } });
  const good = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "sk-acme-0001", maxRetries: 0 });
  const bad = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "sk-wrong-0001", maxRetries: 0 });

  await assert.rejects(
    bad.chat.completions.create({ model: "sim-small", messages: [{ role: "user", content: "x" }] }),
    (err: unknown) => err instanceof OpenAI.AuthenticationError && err.status === 401,
  );
  await assert.rejects(
    good.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] }),
    (err: unknown) => err instanceof OpenAI.NotFoundError && err.code === "model_not_found",
  );
  const models = await good.models.list();
  assert.deepEqual(models.data.map((m) => m.id).filter((id) => id.startsWith("sim-")).sort(), [
    "sim-large",
    "sim-small",
  ]);
});
