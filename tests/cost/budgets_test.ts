/** Budget windows, scopes and limits without HTTP (the HTTP behaviour is in cost_http_test.ts). */
import assert from "node:assert/strict";
import { type AppliedBudget, Budgets, periodOf } from "../../src/cost/budgets.ts";
import { BudgetExceededError } from "../../src/errors.ts";

Deno.test("periods are UTC days and calendar months, ending at the next boundary", () => {
  const t = Date.UTC(2026, 11, 31, 23, 59, 59); // 31 Dec 2026, one second before the new year
  assert.deepEqual(periodOf("daily", t), { id: "d:2026-12-31", endsAt: Date.UTC(2027, 0, 1) });
  assert.deepEqual(periodOf("monthly", t), { id: "mo:2026-12", endsAt: Date.UTC(2027, 0, 1) });
  assert.deepEqual(periodOf("monthly", Date.UTC(2028, 1, 29, 12)), { id: "mo:2028-02", endsAt: Date.UTC(2028, 2, 1) });
});

Deno.test("'*' budgets apply to tenants and agents without their own, including awkward names", () => {
  const alerts: [string, string][] = [];
  const budgets = new Budgets({
    tenants: { "*": { daily: { hard: 1 } }, vip: { daily: { hard: 100 } } },
    agents: { "*": { monthly: { soft: 0.5 } } },
  }, { alert: (b: AppliedBudget, level) => void alerts.push([b.scope, level]) });
  const now = Date.UTC(2026, 5, 15, 12);
  assert.deepEqual(
    budgets.applicable("constructor", "toString").map((b) => `${b.scope}:${b.window}:${b.setting}`),
    [
      "tenant:constructor:daily:cost.budgets.tenants.*.daily",
      "agent:constructor/toString:monthly:cost.budgets.agents.*.monthly",
    ],
  );
  budgets.add("constructor", "toString", 0.6, now);
  assert.deepEqual(alerts, [["agent:constructor/toString", "soft"]]);
  budgets.add("constructor", "toString", 0.6, now);
  // The soft alert fired once for the period; crossing the tenant's hard limit alerts too.
  assert.deepEqual(alerts, [["agent:constructor/toString", "soft"], ["tenant:constructor", "hard"]]);
  assert.throws(() => budgets.check("constructor", "other", now), BudgetExceededError);
  budgets.check("vip", "toString", now); // vip has its own, larger budget
  // The next UTC day the daily budget is fresh again.
  budgets.check("constructor", "other", now + 86_400_000);
});
