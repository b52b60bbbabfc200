/**
 * Jobs on a real redis-server (integration): the stream, consumer group, reclaim and idempotent completion, and
 * the criterion "a worker killed mid-job loses nothing": two `deno task worker` processes, one SIGKILLed while it
 * runs a slow job, the other completes it, exactly once.
 */
import assert from "node:assert/strict";
import { freePort, TestRedis } from "../support/redis.ts";
import { chatBody, postJson, startGateway } from "../support/gateway.ts";
import { loadConfig } from "../../src/config.ts";
import { jobsConfigSchema } from "../../src/jobs/config.ts";
import { RedisJobQueue } from "../../src/jobs/redis_queue.ts";
import { RedisJobWorker } from "../../src/jobs/worker.ts";
import { JobRunner } from "../../src/jobs/runner.ts";
import {
  COMPLETE_SCRIPT,
  connectRedis,
  evalScript,
  jobKey,
  type RedisClient,
  trimAcknowledged,
} from "../../src/jobs/redis_streams.ts";
import { createGateway } from "../../src/wiring.ts";
import { Logger } from "../../src/log.ts";
import { SERVICE_RUN_FLAGS } from "../../src/setup/permissions.ts";

const ROOT = new URL("../../", import.meta.url);
const quiet = new Logger("error");

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await fn();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function hash(client: RedisClient, key: string): Promise<Record<string, string>> {
  const reply = await client.sendCommand(["HGETALL", key]) as string[];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) out[reply[i]] = reply[i + 1];
  return out;
}

Deno.test("redis jobs: the completion script stores the first outcome only and always acknowledges the entry", async () => {
  await using redis = await TestRedis.start();
  const config = jobsConfigSchema.parse({});
  const queue = await RedisJobQueue.connect(redis.url, config, () => {});
  const client = await connectRedis(redis.url, { onError: () => {} });
  try {
    const job = await queue.enqueue({
      tenant: "t",
      agentId: "a",
      pool: "general",
      request: chatBody("x") as never,
    });
    const [[, entries]] = await client.sendCommand([
      "XREADGROUP",
      "GROUP",
      config.group,
      "c1",
      "STREAMS",
      config.stream,
      ">",
    ]) as [string, [string, string[]][]][];
    const entryId = entries[0][0];
    const complete = (payload: string, consumer: string) =>
      evalScript(client, COMPLETE_SCRIPT, [jobKey(job.id), config.stream], [
        config.group,
        entryId,
        "succeeded",
        "result",
        payload,
        String(Date.now()),
        "60",
        consumer,
      ]);
    assert.equal(Number(await complete('{"n":1}', "c1")), 1);
    assert.equal(Number(await complete('{"n":2}', "c2")), 0);
    const stored = await hash(client, jobKey(job.id));
    assert.equal(stored.status, "succeeded");
    assert.equal(stored.result, '{"n":1}');
    assert.equal(stored.worker, "c1");
    assert.equal(Number((await client.sendCommand(["XPENDING", config.stream, config.group]) as unknown[])[0]), 0);
    const ttl = Number(await client.sendCommand(["TTL", jobKey(job.id)]));
    assert.ok(ttl > 0 && ttl <= 60, `result TTL ${ttl}`);
  } finally {
    await client.close();
    await queue.close();
  }
});

Deno.test("redis jobs: trimming never drops an entry delivered while the trim reads the group's state", async () => {
  await using redis = await TestRedis.start();
  const client = await connectRedis(redis.url, { onError: () => {} });
  const other = await connectRedis(redis.url, { onError: () => {} });
  try {
    await client.sendCommand(["XGROUP", "CREATE", "s", "g", "0", "MKSTREAM"]);
    // An entry delivered and acknowledged (trimmable), then one added but not yet delivered.
    await client.sendCommand(["XADD", "s", "*", "job", "done"]);
    const [[, [[doneId]]]] = await client.sendCommand([
      "XREADGROUP",
      "GROUP",
      "g",
      "w0",
      "COUNT",
      "1",
      "STREAMS",
      "s",
      ">",
    ]) as [
      string,
      [string, string[]][],
    ][];
    await client.sendCommand(["XACK", "s", "g", doneId]);
    const liveId = String(await client.sendCommand(["XADD", "s", "*", "job", "live"]));
    // Another worker takes the live entry right after the trim's first read.
    let reads = 0;
    const racing = {
      async sendCommand(args: string[]) {
        const reply = await client.sendCommand(args);
        if (reads++ === 0) {
          await other.sendCommand(["XREADGROUP", "GROUP", "g", "w1", "COUNT", "1", "STREAMS", "s", ">"]);
        }
        return reply;
      },
    } as unknown as Pick<RedisClient, "sendCommand">;
    await trimAcknowledged(racing, "s", "g");
    const ids = (await client.sendCommand(["XRANGE", "s", "-", "+"]) as [string, string[]][]).map(([id]) => id);
    assert.deepEqual(ids, [liveId], "the acknowledged entry is trimmed, the one delivered meanwhile is kept");
    const pending = await client.sendCommand(["XPENDING", "s", "g", "-", "+", "10"]) as [string, string][];
    assert.deepEqual(pending.map(([id, consumer]) => [id, consumer]), [[liveId, "w1"]]);
  } finally {
    await client.close();
    await other.close();
  }
});

Deno.test("redis jobs: a gateway enqueues, an in-process worker runs the job through the chat path", async () => {
  await using redis = await TestRedis.start();
  await using gw = await startGateway({
    env: { REDIS_URL: redis.url, AMAS_API_KEYS: "acme=sk-acme-0001,globex=sk-globex-0002" },
  });
  const acme = { authorization: "Bearer sk-acme-0001" };
  const res = await postJson(`${gw.url}/v1/jobs`, chatBody("queued before any worker exists"), acme);
  assert.equal(res.status, 202);
  const { id } = await res.json();

  let text = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(text, /amas_jobs_backlog\{[^}]*stream="amas:jobs"[^}]*\} 1/);
  assert.match(text, /amas_jobs_lag\{[^}]*stream="amas:jobs"[^}]*\} 1/);

  const config = loadConfig({ env: { REDIS_URL: redis.url, AMAS_LOG_LEVEL: "error" } });
  const workerGateway = await createGateway({ ...config, jobs: { ...config.jobs, embeddedWorkers: 0 } });
  const client = await connectRedis(redis.url, { onError: () => {} });
  const reader = await connectRedis(redis.url, { onError: () => {} });
  const worker = new RedisJobWorker(
    client,
    reader,
    { ...config.jobs, blockMs: 100 },
    new JobRunner(workerGateway.service, { timeoutMs: 10_000 }),
    { pools: [{ pool: "general", stream: "amas:jobs" }], consumer: "w1", logger: quiet },
  );
  worker.start();
  try {
    const job = await until("the job to finish", async () => {
      const body = await (await fetch(`${gw.url}/v1/jobs/${id}`, { headers: acme })).json();
      return body.status === "succeeded" || body.status === "failed" ? body : undefined;
    });
    assert.equal(job.status, "succeeded");
    assert.match(job.result.completion.choices[0].message.content, /re: queued before any worker exists/);
    const other = await fetch(`${gw.url}/v1/jobs/${id}`, { headers: { authorization: "Bearer sk-globex-0002" } });
    assert.equal(other.status, 404);
    await other.body?.cancel();
    text = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(text, /amas_jobs_backlog\{[^}]*stream="amas:jobs"[^}]*\} 0/);
  } finally {
    await worker.stop(1000);
    await client.close();
    await reader.close();
    await workerGateway.close();
  }
});

Deno.test("redis jobs: a live worker's heartbeat keeps a job longer than claimIdleMs from being reclaimed", async () => {
  await using redis = await TestRedis.start();
  const config = loadConfig({ env: { REDIS_URL: redis.url, AMAS_LOG_LEVEL: "error" } });
  const jobs = { ...config.jobs, claimIdleMs: 1500, heartbeatMs: 150, blockMs: 100 };
  const gateway = await createGateway({ ...config, jobs: { ...jobs, embeddedWorkers: 0 } });
  gateway.registry.sim.patch({ model: "sim-small", latency_ms: 3500, jitter_ms: 0 });
  const queue = await RedisJobQueue.connect(redis.url, jobs, () => {});
  const clients: RedisClient[] = [];
  const workers = await Promise.all(["w1", "w2"].map(async (consumer) => {
    const client = await connectRedis(redis.url, { onError: () => {} });
    const reader = await connectRedis(redis.url, { onError: () => {} });
    clients.push(client, reader);
    const runner = new JobRunner(gateway.service, { timeoutMs: 10_000 });
    return new RedisJobWorker(client, reader, jobs, runner, {
      pools: [{ pool: "general", stream: "amas:jobs" }],
      consumer,
      logger: quiet,
    });
  }));
  try {
    for (const w of workers) w.start();
    const job = await queue.enqueue({ tenant: "t", agentId: "a", pool: "general", request: chatBody("slow") as never });
    const done = await until("the slow job", async () => {
      const j = await queue.get(job.id);
      return j?.status === "succeeded" ? j : undefined;
    });
    assert.equal(done.attempts, 1, "the other worker must not take over a job whose worker is alive");
    assert.equal(gateway.registry.sim.stats().calls, 1, "the upstream was called once");
    // Finished entries are trimmed from the head of the stream; the group's lag stays exact (0, not null).
    await until("the finished entry to be trimmed", async () => {
      const len = Number(await clients[0].sendCommand(["XLEN", "amas:jobs"]));
      return len === 0 ? true : undefined;
    }, 10_000);
    const [backlog] = await queue.backlog();
    assert.deepEqual(backlog, { pool: "general", stream: "amas:jobs", backlog: 0, pending: 0, lag: 0 });
  } finally {
    for (const w of workers) await w.stop(1000);
    for (const c of clients) await c.close();
    await queue.close();
    await gateway.close();
  }
});

Deno.test("redis jobs: Redis down → POST /v1/jobs answers 503, and works again when Redis is back", async () => {
  await using redis = await TestRedis.start();
  await using gw = await startGateway({ env: { REDIS_URL: redis.url } });
  await redis.stop();
  const down = await postJson(`${gw.url}/v1/jobs`, chatBody("x"));
  assert.equal(down.status, 503);
  assert.equal((await down.json()).error.code, "job_store_unavailable");
  await redis.restart();
  const status = await until("the queue to reconnect", async () => {
    const res = await postJson(`${gw.url}/v1/jobs`, chatBody("x"));
    await res.body?.cancel();
    return res.status === 202 ? res.status : undefined;
  });
  assert.equal(status, 202);
});

Deno.test("redis jobs: a gateway whose Redis is down at start-up still starts, and jobs answer 503", async () => {
  const closedPort = freePort();
  const t0 = Date.now();
  await using gw = await startGateway({
    env: { REDIS_URL: `redis://127.0.0.1:${closedPort}`, AMAS_CACHE_ENABLED: "false" },
  });
  assert.ok(Date.now() - t0 < 30_000);
  const res = await postJson(`${gw.url}/v1/jobs`, chatBody("x"));
  assert.equal(res.status, 503);
  await res.body?.cancel();
  const chat = await postJson(`${gw.url}/v1/chat/completions`, chatBody("chat still works"));
  assert.equal(chat.status, 200);
  await chat.body?.cancel();
});

interface WorkerProcess {
  name: string;
  child: Deno.ChildProcess;
  log(): string;
  started: Promise<void>;
}

function spawnWorker(name: string, env: Record<string, string>): WorkerProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...SERVICE_RUN_FLAGS, "src/jobs/worker_main.ts"],
    cwd: ROOT,
    env: { ...env, AMAS_WORKER_NAME: name, AMAS_WORKER_PORT: "0", AMAS_LOG_LEVEL: "info" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const started = new Promise<void>((resolve, reject) => {
    (async () => {
      const decoder = new TextDecoder();
      for await (const bytes of child.stderr) {
        log += decoder.decode(bytes, { stream: true });
        if (log.includes('"msg":"worker started"')) resolve();
      }
      reject(new Error(`worker ${name} exited before starting:\n${log}`));
    })().catch(reject);
  });
  return { name, child, log: () => log, started };
}

Deno.test("redis jobs: a worker SIGKILLed mid-job loses nothing; the other worker completes it exactly once", async () => {
  await using redis = await TestRedis.start();
  const dir = await Deno.makeTempDir();
  const configFile = `${dir}/config.json`;
  // A slow model, so the job is surely mid-run when its worker is killed.
  await Deno.writeTextFile(
    configFile,
    JSON.stringify({ providers: { sim: { models: { "sim-slow": { ttftMs: 3000, jitterMs: 0 } } } } }),
  );
  const env = {
    REDIS_URL: redis.url,
    AMAS_CONFIG: configFile,
    // Generous against a loaded machine: a live worker's heartbeat (every 0.5 s) must never miss a 5-s window.
    AMAS_JOBS_CLAIM_IDLE_MS: "5000",
    AMAS_JOBS_HEARTBEAT_MS: "500",
    // The subject is crash recovery: without the embedder the worker processes start in a fraction of the time.
    AMAS_CACHE_ENABLED: "false",
  };
  await using gw = await startGateway({ env });
  const workers = [spawnWorker("worker-a", env), spawnWorker("worker-b", env)];
  const client = await connectRedis(redis.url, { onError: () => {} });
  try {
    await Promise.all(workers.map((w) => w.started));
    const res = await postJson(`${gw.url}/v1/jobs`, chatBody("a long research question", { model: "sim-slow" }));
    assert.equal(res.status, 202);
    const { id } = await res.json();

    const owner = await until("a worker to start the job", async () => {
      const h = await hash(client, jobKey(id));
      return h.status === "running" ? h.runningOn : undefined;
    });
    const victim = workers.find((w) => w.name === owner)!;
    const survivor = workers.find((w) => w.name !== owner)!;
    victim.child.kill("SIGKILL");
    await victim.child.status;

    const job = await until("the job to complete on the surviving worker", async () => {
      const res = await fetch(`${gw.url}/v1/jobs/${id}`);
      const body = await res.json();
      return body.status === "succeeded" || body.status === "failed" ? body : undefined;
    }, 90_000).catch(async (err) => {
      const pending = await client.sendCommand(["XPENDING", "amas:jobs", "amas-workers", "-", "+", "10"]);
      throw new Error(
        `${err.message}\njob: ${JSON.stringify(await hash(client, jobKey(id)))}\npending: ${JSON.stringify(pending)}` +
          `\nsurvivor ${survivor.name} log:\n${survivor.log().slice(-3000)}`,
      );
    });
    assert.equal(job.status, "succeeded");
    assert.match(job.result.completion.choices[0].message.content, /re: a long research question/);
    // Started by the killed worker, then again by the survivor (more only if a stalled machine let a live
    // worker's job be taken over, which the completion script also makes harmless).
    assert.ok(job.attempts >= 2, `attempts ${job.attempts}`);
    const stored = await hash(client, jobKey(id));
    assert.equal(stored.worker, survivor.name);

    const pending = await client.sendCommand(["XPENDING", "amas:jobs", "amas-workers"]) as unknown[];
    assert.equal(Number(pending[0]), 0);
    // Exactly one completion: the victim never finished it, the survivor finished it once.
    assert.equal(victim.log().includes(`"job":"${id}"`) && victim.log().includes('"msg":"job finished"'), false);
    const finishedIn = (log: string) =>
      log.split("\n").filter((l) => l.includes('"msg":"job finished"') && l.includes(id));
    // The job record is written before the worker's log line reaches our pipe reader: wait for the line itself.
    await until(
      "the survivor's 'job finished' log line",
      () => Promise.resolve(finishedIn(survivor.log()).length > 0 || undefined),
    )
      .catch((err) => {
        throw new Error(`${err.message}\nsurvivor ${survivor.name} log:\n${survivor.log().slice(-3000)}`);
      });
    const finishedLines = finishedIn(survivor.log());
    assert.equal(finishedLines.length, 1, survivor.log());
    assert.match(finishedLines[0], /"stored":true/);
  } finally {
    await client.close();
    for (const w of workers) {
      try {
        w.child.kill("SIGTERM");
      } catch { /* already gone */ }
      await w.child.status;
    }
    await Deno.remove(dir, { recursive: true });
  }
});
