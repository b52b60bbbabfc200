/**
 * The tokenizer loads on first need: before it is loaded an estimate counts characters (flagged `estimated`), the
 * estimate starts the load, and once loaded the estimates are the tokenizer's own. Its own file, because the loaded
 * state is per process.
 */
import assert from "node:assert/strict";
import { countTokens, encodeChat } from "gpt-tokenizer";
import { countCallTokens, loadTokenizer, tokenizerLoaded } from "../../src/cost/tokens.ts";
import type { ChatCompletion, ChatRequest } from "../../src/gateway/chat_schema.ts";

const request = {
  model: "gpt-4o",
  messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "What is the capital of France?" }],
} as ChatRequest;
const answer = "The capital of France is Paris, on the Seine.";
const completion = {
  id: "c",
  object: "chat.completion",
  created: 0,
  model: "gpt-4o",
  choices: [{ index: 0, message: { role: "assistant", content: answer }, finish_reason: "stop" }],
} as ChatCompletion;

Deno.test("without a loaded tokenizer an estimate counts characters, starts the load, then uses the tokenizer", async () => {
  assert.equal(tokenizerLoaded(), false, "nothing loads the tokenizer at import");
  const rough = countCallTokens(request, completion);
  assert.equal(rough.estimated, true);
  assert.equal(rough.output, Math.ceil(answer.length / 4));
  assert.ok(rough.input > 10 && rough.input < 40, `plausible prompt estimate: ${rough.input}`);

  await loadTokenizer(); // the estimate above started it; this waits for the same load
  assert.equal(tokenizerLoaded(), true);
  const exact = countCallTokens(request, completion);
  assert.equal(exact.estimated, true);
  assert.equal(exact.output, countTokens(answer));
  const chat = request.messages.map((m) => ({ role: m.role, content: m.content as string }));
  assert.equal(exact.input, encodeChat(chat as Parameters<typeof encodeChat>[0], "gpt-4o").length);
  // The fallback stays within a factor of two of the tokenizer on English text.
  assert.ok(Math.abs(rough.input - exact.input) <= exact.input, `${rough.input} vs ${exact.input}`);
});
