/**
 * Model-based property test (fast-check): any sequence of puts, deletes and namespace deletes leaves the Redis
 * store and the Upstash store (through the REST bridge) holding exactly what the memory store holds, and
 * reporting the same counts. Needs `redis-server` on PATH.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { storeConfigSchema } from "../../src/store/config.ts";
import { MemoryStore } from "../../src/store/memory_store.ts";
import { openRedisStore } from "../../src/store/redis_store.ts";
import { openUpstashStore } from "../../src/store/upstash_store.ts";
import type { Store } from "../../src/store/types.ts";
import { TestRedis } from "../support/redis.ts";
import { startUpstashBridge } from "../support/upstash_bridge.ts";
import { scanAll } from "./contract.ts";
import { makeEntry } from "./fixtures.ts";

const tenants = ["t1", "t2", "t:3", "t", "tè"];
const agents = ["a", "b/1", "a:b", "a b*(x)"];
const ids = ["e1", "e2", "e3", "e4", "e5", "e6"];

type Op =
  | { op: "put"; id: string; tenant: string; agent: string }
  | { op: "delete"; id: string }
  | { op: "deleteNamespace"; tenant: string; agent?: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant("put" as const),
    id: fc.constantFrom(...ids),
    tenant: fc.constantFrom(...tenants),
    agent: fc.constantFrom(...agents),
  }),
  fc.record({ op: fc.constant("delete" as const), id: fc.constantFrom(...ids) }),
  fc.record({
    op: fc.constant("deleteNamespace" as const),
    tenant: fc.constantFrom(...tenants),
    agent: fc.option(fc.constantFrom(...agents), { nil: undefined }),
  }),
);

async function apply(store: Store, op: Op): Promise<unknown> {
  if (op.op === "put") {
    return await store.put(makeEntry({ id: op.id, tenant: op.tenant, agentId: op.agent, semanticText: op.id }));
  }
  if (op.op === "delete") return await store.delete(op.id);
  return await store.deleteNamespace(op.tenant, op.agent);
}

Deno.test("redis and upstash stores behave like the memory store under any sequence of writes", async () => {
  await using redis = await TestRedis.start();
  await using bridge = await startUpstashBridge(redis.url);
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 15 }), async (ops) => {
      const config = storeConfigSchema.parse({ keyPrefix: `m${++run}:`, commandTimeoutMs: 2_000 });
      const model = await MemoryStore.open();
      const stores = [
        await openRedisStore({ url: redis.url, config }),
        await openUpstashStore({ url: bridge.url, token: bridge.token, config: { ...config, keyPrefix: `u${run}:` } }),
      ];
      try {
        for (const op of ops) {
          const expected = await apply(model, op);
          for (const store of stores) assert.deepEqual(await apply(store, op), expected, `${store.kind} ${op.op}`);
        }
        const want = (await scanAll(model)).map((e) => `${e.id}/${e.tenant}/${e.agentId}`).sort();
        for (const store of stores) {
          const got = (await scanAll(store)).map((e) => `${e.id}/${e.tenant}/${e.agentId}`).sort();
          assert.deepEqual(got, want, store.kind);
        }
      } finally {
        await model.close();
        for (const store of stores) await store.close();
      }
    }),
    { numRuns: 40 },
  );
});
