/**
 * Async jobs without Redis: the in-process queue and workers, through the real HTTP routes of a running gateway.
 */
import assert from "node:assert/strict";
import { chatBody, postJson, startGateway } from "../support/gateway.ts";

const KEYS = { AMAS_API_KEYS: "acme=sk-acme-0001,globex=sk-globex-0002" };
const ACME = { authorization: "Bearer sk-acme-0001" };
const GLOBEX = { authorization: "Bearer sk-globex-0002" };

async function waitForJob(url: string, id: string, headers: Record<string, string>): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/v1/jobs/${id}`, { headers });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    if (body.status === "succeeded" || body.status === "failed") return body;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`job ${id} did not finish in 20 s`);
}

Deno.test("embedded jobs: 202 + id, then the result from the chat path; another tenant gets 404", async () => {
  await using gw = await startGateway({ env: KEYS });
  const res = await postJson(
    `${gw.url}/v1/jobs`,
    { ...chatBody("summarise the quarterly report"), agent_id: "a1" },
    ACME,
  );
  assert.equal(res.status, 202);
  const accepted = await res.json();
  assert.match(accepted.id, /^job_[0-9a-f]{32}$/);
  assert.equal(accepted.status, "queued");
  assert.equal(res.headers.get("location"), `/v1/jobs/${accepted.id}`);

  const done = await waitForJob(gw.url, accepted.id, ACME);
  assert.equal(done.status, "succeeded");
  assert.equal(done.agent_id, "a1");
  assert.equal(done.attempts, 1);
  const result = done.result as { completion: { choices: { message: { content: string } }[] }; cache: string };
  // The simulated provider's answer names the prompt, so this is the answer to this job's request.
  assert.match(result.completion.choices[0].message.content, /re: summarise the quarterly report/);

  const other = await fetch(`${gw.url}/v1/jobs/${accepted.id}`, { headers: GLOBEX });
  assert.equal(other.status, 404);
  await other.body?.cancel();
  const unknown = await fetch(`${gw.url}/v1/jobs/job_${"0".repeat(32)}`, { headers: ACME });
  assert.equal(unknown.status, 404);
  await unknown.body?.cancel();
  const malformed = await fetch(`${gw.url}/v1/jobs/..%2F..%2Fetc`, { headers: ACME });
  assert.equal(malformed.status, 404);
  await malformed.body?.cancel();
});

Deno.test("embedded jobs: client mistakes are 4xx, never 500", async () => {
  await using gw = await startGateway({ env: KEYS });
  const cases: [unknown, number, string?][] = [
    ["", 400],
    ["[1,2]", 400],
    [{ messages: [{ role: "user", content: "x" }] }, 400, "model"],
    [{ ...chatBody("x"), stream: true }, 400, "stream"],
    [{ ...chatBody("x"), pool: "nope" }, 400, "pool"],
    [{ ...chatBody("x"), agent_id: "bad agent!" }, 400, "agent_id"],
  ];
  for (const [body, status, param] of cases) {
    const res = await postJson(`${gw.url}/v1/jobs`, body, ACME);
    const json = await res.json();
    assert.equal(res.status, status, JSON.stringify({ body, json }));
    if (param) assert.equal(json.error.param, param);
  }
  const noKey = await postJson(`${gw.url}/v1/jobs`, chatBody("x"));
  assert.equal(noKey.status, 401);
  await noKey.body?.cancel();
});

Deno.test("embedded jobs: the research_agent pool, a failed upstream recorded as failed, metrics exposed", async () => {
  await using gw = await startGateway({ env: KEYS });
  const research =
    await (await postJson(`${gw.url}/v1/jobs`, { ...chatBody("find sources"), agent_id: "research_agent" }, ACME))
      .json();
  assert.equal(research.pool, "research_agent");
  assert.equal((await waitForJob(gw.url, research.id, ACME)).status, "succeeded");

  gw.gateway.registry.sim.patch({ model: "sim-small", error_rate: 1 });
  const failing = await (await postJson(`${gw.url}/v1/jobs`, chatBody("this one fails"), ACME)).json();
  assert.equal(failing.pool, "general");
  const failed = await waitForJob(gw.url, failing.id, ACME);
  assert.equal(failed.status, "failed");
  assert.equal((failed.error as { status: number }).status >= 500, true);

  const text = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(text, /amas_jobs_processed_total\{[^}]*outcome="succeeded"[^}]*\} 1/);
  assert.match(text, /amas_jobs_processed_total\{[^}]*outcome="failed"[^}]*\} 1/);
  assert.match(text, /amas_jobs_backlog\{[^}]*stream="amas:jobs"[^}]*\} 0/);
  assert.match(text, /amas_jobs_backlog\{[^}]*stream="amas:jobs:research_agent"[^}]*\} 0/);
  assert.match(text, /amas_job_duration_seconds_count\{/);
});
