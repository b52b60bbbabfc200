/**
 * The Redis side of jobs: key layout, the Lua scripts that make every state change atomic, and the reply parsing
 * of the stream commands (raw RESP2 arrays, so the shapes are the server's own).
 *
 * Layout: a job is a hash `amas:job:{id}` (tenant, agent, pool, status, request, result/error, attempts, times)
 * with a TTL; a stream entry `{job: id}` on the pool's stream is the unit of delivery. A finished job's entry is
 * acknowledged in the same script that stores the result. Entries are never `XDEL`eted one by one: that would make
 * the group's `lag` (XINFO GROUPS, what KEDA's `lagCount` reads) undeterminable; workers trim acknowledged entries
 * from the head of the stream instead (`XTRIM MINID`, see `trimPoint`), which keeps `lag` exact.
 *
 * @module
 */
import { createClient } from "redis";
import type { JobError, JobRecord, JobResult, JobStatus } from "./types.ts";

function newClient(url: string) {
  return createClient({
    url,
    RESP: 2,
    disableOfflineQueue: true,
    socket: { reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000), connectTimeout: 5000 },
  });
}

/** A node-redis client speaking RESP2. */
export type RedisClient = ReturnType<typeof newClient>;

/** The hash key of a job. */
export function jobKey(id: string): string {
  return `amas:job:${id}`;
}

/**
 * Connects a RESP2 client that fails fast while disconnected instead of queueing commands without bound. Waits at
 * most `waitMs` for the first connection: a gateway starts degraded rather than not at all when Redis is down, and
 * the client keeps reconnecting in the background. `onReady` runs after every (re)connection.
 */
export async function connectRedis(
  url: string,
  options: { onError: (err: unknown) => void; onReady?: (client: RedisClient) => Promise<void>; waitMs?: number },
): Promise<RedisClient> {
  const client = newClient(url);
  client.on("error", options.onError);
  const ready = new Promise<void>((resolve) => {
    client.on("ready", () => {
      (options.onReady?.(client) ?? Promise.resolve()).catch(options.onError).finally(resolve);
    });
  });
  client.connect().catch(options.onError);
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([ready, new Promise((r) => timer = setTimeout(r, options.waitMs ?? 5000))]);
  clearTimeout(timer);
  return client;
}

/** Creates the consumer group on a stream (and the stream), from the first entry; an existing group is fine. */
export async function ensureGroup(client: RedisClient, stream: string, group: string): Promise<void> {
  try {
    await client.sendCommand(["XGROUP", "CREATE", stream, group, "0", "MKSTREAM"]);
  } catch (err) {
    if (!String((err as Error).message).includes("BUSYGROUP")) throw err;
  }
}

/**
 * Marks a job running for one more attempt. Returns `run`, `done` (already finished: a duplicate delivery),
 * `missing` (expired or unknown) or `exhausted` (too many attempts: its workers keep dying).
 */
export const START_SCRIPT = `
local s = redis.call('HGET', KEYS[1], 'status')
if not s then return 'missing' end
if s == 'succeeded' or s == 'failed' then return 'done' end
local a = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if a > tonumber(ARGV[2]) then return 'exhausted' end
redis.call('HSET', KEYS[1], 'status', 'running', 'startedAt', ARGV[1], 'runningOn', ARGV[3])
return 'run'
`;

/**
 * Stores a job's outcome only if no outcome is stored yet (the first completion wins; a second one, from a worker
 * whose job was reclaimed while it still ran, changes nothing), then acknowledges the stream entry.
 * Returns 1 when this call stored the outcome, 0 when another completion already had.
 */
export const COMPLETE_SCRIPT = `
local s = redis.call('HGET', KEYS[1], 'status')
local stored = 0
if s and s ~= 'succeeded' and s ~= 'failed' then
  redis.call('HSET', KEYS[1], 'status', ARGV[3], ARGV[4], ARGV[5], 'finishedAt', ARGV[6], 'worker', ARGV[8])
  redis.call('HDEL', KEYS[1], 'runningOn')
  redis.call('EXPIRE', KEYS[1], ARGV[7])
  stored = 1
end
redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
return stored
`;

/**
 * A live worker's heartbeat on a running entry: resets its idle time (so it is not reclaimed) only while this
 * consumer still owns it. Returns 0 when another worker has taken it over.
 */
export const HEARTBEAT_SCRIPT = `
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #p == 0 then return 0 end
if p[1][2] ~= ARGV[3] then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'JUSTID')
return 1
`;

/** Runs a Lua script with keys and arguments. */
export function evalScript(client: RedisClient, script: string, keys: string[], args: string[]): Promise<unknown> {
  return client.sendCommand(["EVAL", script, String(keys.length), ...keys, ...args]);
}

/** One stream entry: its id and job id. */
export interface StreamEntry {
  entryId: string;
  jobId?: string;
}

function fieldsToEntry(entryId: string, fields: unknown): StreamEntry {
  const list = Array.isArray(fields) ? fields.map(String) : [];
  const i = list.indexOf("job");
  return { entryId, jobId: i >= 0 ? list[i + 1] : undefined };
}

/** Parses an `XREADGROUP` reply: `[[stream, [[id, [field, value…]]…]]…]` (or null on timeout). */
export function parseReadGroup(reply: unknown): { stream: string; entries: StreamEntry[] }[] {
  if (!Array.isArray(reply)) return [];
  return reply.map((s) => {
    const [stream, entries] = s as [unknown, unknown[]];
    return {
      stream: String(stream),
      entries: (entries ?? []).map((e) => {
        const [id, fields] = e as [unknown, unknown];
        return fieldsToEntry(String(id), fields);
      }),
    };
  });
}

/** Parses an `XAUTOCLAIM` reply: `[next, [[id, fields]|nil…], [deleted ids…]]`. */
export function parseAutoClaim(reply: unknown): { next: string; entries: StreamEntry[]; deleted: string[] } {
  const [next, messages, deleted] = reply as [unknown, unknown[], unknown[] | undefined];
  const entries: StreamEntry[] = [];
  for (const m of messages ?? []) {
    if (!Array.isArray(m)) continue; // a nil: the entry was deleted after it was delivered
    entries.push(fieldsToEntry(String(m[0]), m[1]));
  }
  return { next: String(next), entries, deleted: (deleted ?? []).map(String) };
}

/** Parses `XINFO GROUPS` into the fields of one group, or undefined when the group does not exist. */
export function parseGroupInfo(
  reply: unknown,
  group: string,
): { pending: number; lag: number | null; lastDeliveredId: string } | undefined {
  if (!Array.isArray(reply)) return undefined;
  for (const g of reply) {
    const list = g as unknown[];
    const map = new Map<string, unknown>();
    for (let i = 0; i + 1 < list.length; i += 2) map.set(String(list[i]), list[i + 1]);
    if (String(map.get("name")) !== group) continue;
    const lag = map.get("lag");
    return {
      pending: Number(map.get("pending") ?? 0),
      lag: lag === null || lag === undefined ? null : Number(lag),
      lastDeliveredId: String(map.get("last-delivered-id") ?? "0-0"),
    };
  }
  return undefined;
}

/** The hash fields of a new job. */
export function jobToHash(job: JobRecord): Record<string, string> {
  return {
    id: job.id,
    tenant: job.tenant,
    agentId: job.agentId,
    pool: job.pool,
    status: job.status,
    request: JSON.stringify(job.request),
    createdAt: String(job.createdAt),
    attempts: String(job.attempts),
  };
}

/** A job from its hash fields, or undefined when the hash is empty (expired or unknown). */
export function hashToJob(hash: Record<string, string>): JobRecord | undefined {
  if (!hash.id || !hash.status) return undefined;
  const num = (v: string | undefined) => v === undefined || v === "" ? undefined : Number(v);
  return {
    id: hash.id,
    tenant: hash.tenant,
    agentId: hash.agentId,
    pool: hash.pool,
    status: hash.status as JobStatus,
    request: JSON.parse(hash.request),
    createdAt: Number(hash.createdAt),
    startedAt: num(hash.startedAt),
    finishedAt: num(hash.finishedAt),
    attempts: Number(hash.attempts ?? 0),
    worker: hash.worker,
    result: hash.result ? JSON.parse(hash.result) as JobResult : undefined,
    error: hash.error ? JSON.parse(hash.error) as JobError : undefined,
  };
}

/** The stream id right after `id` (`ms-seq` → `ms-(seq+1)`). */
export function nextId(id: string): string {
  const [ms, seq] = id.split("-");
  return `${ms}-${BigInt(seq ?? "0") + 1n}`;
}

/** Compares two stream ids. */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map((x) => BigInt(x));
  const [bm, bs] = b.split("-").map((x) => BigInt(x));
  if (am !== bm) return am < bm ? -1 : 1;
  if (as !== bs) return as < bs ? -1 : 1;
  return 0;
}

/**
 * Where the head of a stream can be trimmed (`XTRIM MINID`): every entry before the oldest pending entry and up to
 * the last delivered one is acknowledged, so nothing unfinished is ever trimmed.
 */
export function trimPoint(oldestPending: string | undefined, lastDeliveredId: string): string {
  const afterDelivered = nextId(lastDeliveredId);
  if (oldestPending === undefined) return afterDelivered;
  return compareIds(oldestPending, afterDelivered) < 0 ? oldestPending : afterDelivered;
}

/**
 * Drops acknowledged entries from the head of a stream (`XTRIM MINID`), never a pending or undelivered one. The
 * order of the two reads matters: the last-delivered id first, then the pending list. An entry delivered after the
 * first read has a larger id and is kept; one delivered before it is either still pending at the second read (and
 * bounds the trim) or already acknowledged. Read the other way round, an entry delivered between the reads would be
 * pending yet missing from the pending answer, and trimmed: a lost job (the SIGKILL test caught exactly that).
 */
export async function trimAcknowledged(
  client: Pick<RedisClient, "sendCommand">,
  stream: string,
  group: string,
): Promise<void> {
  const info = parseGroupInfo(await client.sendCommand(["XINFO", "GROUPS", stream]), group);
  if (!info) return;
  const summary = await client.sendCommand(["XPENDING", stream, group]) as unknown[];
  const oldestPending = Number(summary[0]) > 0 ? String(summary[1]) : undefined;
  await client.sendCommand(["XTRIM", stream, "MINID", trimPoint(oldestPending, info.lastDeliveredId)]);
}
