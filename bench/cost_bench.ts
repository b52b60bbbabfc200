/**
 * What cost accounting adds to one request: `CostAccountant.record` with the provider's usage, and with a tokenizer
 * estimate (a stream without usage), against the baseline of pricing alone (one price-table lookup). Also the
 * budget check that runs before every request, with budgets configured.
 *
 * Run: `deno bench -A bench/cost_bench.ts`
 */
import { CostAccountant } from "../src/cost/accountant.ts";
import { costConfigSchema } from "../src/cost/config.ts";
import { PriceTable } from "../src/cost/prices.ts";
import type { ChatCompletion } from "../src/gateway/chat_schema.ts";
import type { ChatCall } from "../src/gateway/stages.ts";
import { Logger } from "../src/log.ts";
import { Telemetry } from "../src/telemetry/telemetry.ts";

const config = costConfigSchema.parse({
  budgets: { tenants: { acme: { daily: { soft: 1e9, hard: 1e9 } } }, agents: { "*": { monthly: { hard: 1e9 } } } },
});
const accountant = new CostAccountant({
  config,
  telemetry: new Telemetry({ serviceName: "bench" }),
  logger: new Logger("error"),
});
const prices = new PriceTable();
const prompt = "Summarise the following ticket in one line: the export to CSV fails for reports over 10k rows.";
const call = {
  request: { model: "gpt-4o", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: prompt }] },
  tenant: "acme",
  agentId: "summarizer",
  requestId: "bench",
} as unknown as ChatCall;
const answer = "CSV export fails for reports larger than 10,000 rows; needs streaming or pagination in the exporter.";
const base = {
  id: "c",
  object: "chat.completion" as const,
  created: 0,
  model: "gpt-4o",
  choices: [{ index: 0, message: { role: "assistant" as const, content: answer }, finish_reason: "stop" }],
};
const withUsage: ChatCompletion = { ...base, usage: { prompt_tokens: 31, completion_tokens: 22, total_tokens: 53 } };
const withoutUsage: ChatCompletion = base;

Deno.bench("price lookup only (gpt-4o, library)", { group: "record", baseline: true }, () => {
  prices.price("gpt-4o", { input: 31, output: 22 }, "openai");
});
Deno.bench("record, usage reported", { group: "record" }, () => {
  accountant.record(call, withUsage, "upstream");
});
Deno.bench("record, tokens estimated (no usage)", { group: "record" }, () => {
  accountant.record(call, withoutUsage, "upstream");
});
Deno.bench("budget check (tenant + agent budgets)", { group: "budget" }, async () => {
  await accountant.checkBudget(call);
});
