/**
 * `deno bench` micro-benchmarks of the cache's per-request work, each group against a baseline:
 * the exact path (keys + map lookup) against a bare Map.get, and the verifier against a string comparison.
 *
 * @module
 */
import { cacheKeys } from "../src/cache/scope.ts";
import { RuleVerifier } from "../src/cache/verifier.ts";
import type { ChatRequest } from "../src/gateway/chat_schema.ts";

const request: ChatRequest = {
  model: "sim-small",
  temperature: 0.2,
  messages: [
    { role: "system", content: "You are a helpful assistant for the billing team." },
    { role: "user", content: "How do I change the billing address on my invoice?" },
  ],
};
const map = new Map<string, string>([["k", "v"]]);
const keys = cacheKeys({ tenant: "acme", agentId: "support", request });
if (!("reason" in keys)) map.set(keys.exactKey, "entry");

Deno.bench("Map.get of a ready key", { group: "exact path", baseline: true }, () => {
  map.get("k");
});
Deno.bench("scope + exact key of a request, then Map.get", { group: "exact path" }, () => {
  const k = cacheKeys({ tenant: "acme", agentId: "support", request });
  if (!("reason" in k)) map.get(k.exactKey);
});

const fresh = new RuleVerifier({ memoSize: 1 });
const memo = new RuleVerifier();
let i = 0;
Deno.bench("string equality", { group: "verifier", baseline: true }, () => {
  const _same = "What is 15% of 240?" === `What is 15% of ${240 + (i++ % 2)}?`;
});
Deno.bench("verify a candidate (both prompts analysed)", { group: "verifier" }, () => {
  fresh.verify(`What is 15% of ${i++}?`, "Calculate 15 percent of 240");
});
Deno.bench("verify a candidate (cached prompt memoised)", { group: "verifier" }, () => {
  memo.verify(`What is 15% of ${i++}?`, "Calculate 15 percent of 240");
});
