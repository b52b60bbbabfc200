/**
 * Pricing arithmetic against the price library's own data, config overrides, simulated and unknown models, and the
 * token paths (provider usage vs tokenizer estimate).
 */
import assert from "node:assert/strict";
import { findProvider } from "@pydantic/genai-prices";
import { countTokens, encodeChat } from "gpt-tokenizer";
import { PriceTable } from "../../src/cost/prices.ts";
import { countCallTokens, loadTokenizer, tokensFromUsage } from "../../src/cost/tokens.ts";
import type { ChatCompletion, ChatRequest } from "../../src/gateway/chat_schema.ts";

/** The library's raw per-million-token prices of an OpenAI model, read from its provider data (not calcPrice). */
function libraryRates(model: string): { input: number; output: number; cacheRead: number } {
  const provider = findProvider({ providerId: "openai" });
  const info = provider?.models.find((m) => m.id === model);
  assert.ok(info, `the library knows ${model}`);
  const prices = info.prices as Record<string, number>;
  assert.equal(typeof prices.input_mtok, "number", `${model} has a flat (not conditional) price`);
  return { input: prices.input_mtok, output: prices.output_mtok, cacheRead: prices.cache_read_mtok };
}

Deno.test("known OpenAI models cost tokens × the library's per-million prices", () => {
  const table = new PriceTable();
  for (const model of ["gpt-4o", "gpt-4o-mini"]) {
    const rates = libraryRates(model);
    const tokens = { input: 1234, output: 567 };
    const expected = (1234 * rates.input + 567 * rates.output) / 1e6;
    const priced = table.price(model, tokens, "openai");
    assert.equal(priced.source, "library");
    assert.ok(Math.abs(priced.costUsd - expected) < 1e-12, `${model}: ${priced.costUsd} vs ${expected}`);
    // Without the provider hint the library still matches the model by name.
    assert.ok(Math.abs(table.price(model, tokens).costUsd - expected) < 1e-12);
    const perMTok = table.perMTok(model)!;
    assert.ok(Math.abs(perMTok.inputPerMTok - rates.input) < 1e-9);
    assert.ok(Math.abs(perMTok.outputPerMTok - rates.output) < 1e-9);
  }
  // gpt-4o is dearer than gpt-4o-mini per token in both directions (the downgrade rule relies on it).
  assert.ok(libraryRates("gpt-4o").input > libraryRates("gpt-4o-mini").input);
});

Deno.test("cached prompt tokens are billed at the library's cache-read rate", () => {
  const rates = libraryRates("gpt-4o");
  const priced = new PriceTable().price("gpt-4o", { input: 1000, output: 100, cachedInput: 400 }, "openai");
  const expected = (600 * rates.input + 400 * rates.cacheRead + 100 * rates.output) / 1e6;
  assert.ok(Math.abs(priced.costUsd - expected) < 1e-12, `${priced.costUsd} vs ${expected}`);
});

Deno.test("config overrides win; simulated models are priced; unknown models cost 0 and say so", () => {
  const table = new PriceTable({ "gpt-4o": { inputPerMTok: 1, outputPerMTok: 2 } });
  assert.deepEqual(table.price("gpt-4o", { input: 1e6, output: 1e6 }), { costUsd: 3, source: "config" });
  // sim-small like gpt-4o-mini, sim-large like gpt-4o; another sim-* model like sim-small.
  const mini = libraryRates("gpt-4o-mini");
  const big = libraryRates("gpt-4o");
  assert.deepEqual(table.perMTok("sim-small"), { inputPerMTok: mini.input, outputPerMTok: mini.output });
  assert.deepEqual(table.perMTok("sim-large"), { inputPerMTok: big.input, outputPerMTok: big.output });
  assert.deepEqual(table.perMTok("sim-tiny"), table.perMTok("sim-small"));
  assert.deepEqual(table.price("no-such-model-xyz", { input: 10, output: 10 }), { costUsd: 0, source: "none" });
  assert.equal(table.perMTok("no-such-model-xyz"), undefined);
});

const request: ChatRequest = {
  model: "gpt-4o",
  messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "What is the capital of France?" }],
};

function completion(text: string, usage?: ChatCompletion["usage"]): ChatCompletion {
  return {
    id: "x",
    object: "chat.completion",
    created: 0,
    model: "gpt-4o",
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
    ...(usage ? { usage } : {}),
  };
}

Deno.test("reported usage is used as is; without usage the tokenizer estimates and flags it", async () => {
  await loadTokenizer();
  const reported = countCallTokens(
    request,
    completion("Paris.", { prompt_tokens: 21, completion_tokens: 2, total_tokens: 23 }),
  );
  assert.deepEqual(reported, { input: 21, output: 2, estimated: false });

  const estimated = countCallTokens(request, completion("The capital of France is Paris."));
  assert.equal(estimated.estimated, true);
  const chat = [{ role: "system", content: "Be brief." }, { role: "user", content: "What is the capital of France?" }];
  assert.equal(estimated.input, encodeChat(chat, "gpt-4o").length);
  assert.equal(estimated.output, countTokens("The capital of France is Paris."));
  assert.ok(estimated.input > 10 && estimated.input < 40, `plausible prompt estimate: ${estimated.input}`);

  assert.equal(tokensFromUsage({ prompt_tokens: -1, completion_tokens: 2, total_tokens: 1 }), undefined);
  assert.deepEqual(
    tokensFromUsage({
      prompt_tokens: 10,
      completion_tokens: 2,
      total_tokens: 12,
      prompt_tokens_details: { cached_tokens: 4 },
    }),
    { input: 10, output: 2, cachedInput: 4 },
  );
});

Deno.test("a routing deployment's own price wins for the calls it answered", () => {
  const table = new PriceTable({}, { "self-hosted": { inputPerMTok: 0.1, outputPerMTok: 0.2 } });
  const priced = table.price("gpt-4o", { input: 1e6, output: 1e6 }, "self-hosted");
  assert.equal(priced.source, "deployment");
  assert.ok(Math.abs(priced.costUsd - 0.3) < 1e-12, String(priced.costUsd));
  assert.equal(table.price("gpt-4o", { input: 1e6, output: 0 }, "openai").source, "library");
});

Deno.test("names that are Object.prototype keys are ordinary unknown models", () => {
  const table = new PriceTable();
  for (const model of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
    const priced = table.price(model, { input: 100, output: 100 }, "constructor");
    assert.ok(Number.isFinite(priced.costUsd), `${model}: ${priced.costUsd}`);
    assert.equal(priced.costUsd, 0);
  }
});

Deno.test("every model of the library's main providers is priced exactly as the library prices it", async () => {
  const fc = (await import("fast-check")).default;
  const { calcPrice } = await import("@pydantic/genai-prices");
  const models: { provider: string; model: string }[] = [];
  for (const provider of ["openai", "anthropic", "google", "groq", "mistral", "deepseek"]) {
    for (const m of findProvider({ providerId: provider })?.models ?? []) models.push({ provider, model: m.id });
  }
  assert.ok(models.length > 100, `the library lists ${models.length} models`);
  const table = new PriceTable();
  // Flat-priced models take the rate card (the library's answer on probes, computed once), not a call per request.
  for (const model of ["gpt-4o", "gpt-4o-mini"]) assert.ok(table.hasRateCard(model, "openai"), model);
  assert.ok(models.filter((m) => table.hasRateCard(m.model, m.provider)).length > models.length / 2);
  const usage = fc.record({
    input: fc.integer({ min: 0, max: 2_000_000 }),
    output: fc.integer({ min: 0, max: 200_000 }),
    cached: fc.integer({ min: 0, max: 2_000_000 }),
  });
  for (const { provider, model } of models) {
    fc.assert(
      fc.property(usage, ({ input, output, cached }) => {
        const tokens = { input, output, ...(cached > 0 ? { cachedInput: cached } : {}) };
        const usageKeys = {
          input_tokens: input,
          output_tokens: output,
          ...(cached > 0 ? { cache_read_tokens: Math.min(cached, input) } : {}),
        };
        let expected = 0;
        try {
          expected = (calcPrice(usageKeys, model, { providerId: provider }) ?? calcPrice(usageKeys, model))
            ?.total_price ?? 0;
        } catch { /* the library rejects this usage: the table prices it 0 */ }
        const got = table.price(model, tokens, provider).costUsd;
        return Math.abs(got - expected) <= 1e-12 * Math.max(1, expected);
      }),
      { numRuns: 30 },
    );
  }
});
