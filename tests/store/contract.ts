/**
 * The store contract: behaviour every `Store` must have, run against memory, Redis and Upstash (through the REST
 * bridge) by their own test files.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { CacheEntry, Store } from "../../src/store/types.ts";
import { makeEntry, waitFor } from "./fixtures.ts";

/** Collects a store's scan. */
export async function scanAll(store: Store): Promise<CacheEntry[]> {
  const out: CacheEntry[] = [];
  for await (const e of store.scan()) out.push(e);
  return out;
}

function assertSameEntry(actual: CacheEntry | null, expected: CacheEntry): void {
  assert.ok(actual, `entry ${expected.id} missing`);
  const { embedding: a, ...restA } = actual;
  const { embedding: b, ...restB } = expected;
  assert.deepEqual(restA, restB);
  assert.equal(a?.length, b?.length);
  // Embeddings may travel as float32: equal to the original or to its float32 rounding.
  for (let i = 0; i < (b?.length ?? 0); i++) {
    assert.ok(a![i] === b![i] || a![i] === Math.fround(b![i]), `embedding[${i}]: ${a![i]} vs ${b![i]}`);
  }
}

/** Registers the contract tests for a store made by `open` (a fresh, empty store each time). */
export function storeContract(name: string, open: () => Promise<Store & AsyncDisposable>): void {
  Deno.test(`${name}: put, get, delete round trip`, async () => {
    await using store = await open();
    const e = makeEntry({ embedding: [0.1, -0.25, 1 / 3, 1e-7, 0, 1, -1, 0.5] });
    assert.equal(await store.get(e.id), null);
    await store.put(e);
    assertSameEntry(await store.get(e.id), e);
    const noEmbedding = makeEntry({ embedding: undefined, embedder: undefined });
    await store.put(noEmbedding);
    const back = await store.get(noEmbedding.id);
    assert.ok(back);
    assert.equal(back.embedding, undefined);
    assert.equal(await store.delete(e.id), true);
    assert.equal(await store.delete(e.id), false);
    assert.equal(await store.get(e.id), null);
    assert.equal(store.status().kind, store.kind);
    assert.equal(store.status().connected, true);
  });

  Deno.test(`${name}: a put replaces the entry with the same id`, async () => {
    await using store = await open();
    const a = makeEntry({ id: "same" });
    const b = makeEntry({ id: "same", semanticText: "second version" });
    await store.put(a);
    await store.put(b);
    assert.equal((await store.get("same"))?.semanticText, "second version");
    assert.equal((await scanAll(store)).length, 1);
  });

  Deno.test(`${name}: TTL is honoured by get and scan`, async () => {
    await using store = await open();
    const short = makeEntry({ expiresAt: Date.now() + 400 });
    const long = makeEntry();
    const past = makeEntry({ expiresAt: Date.now() - 1 });
    await store.put(short);
    await store.put(long);
    await store.put(past);
    assert.ok(await store.get(short.id));
    assert.equal(await store.get(past.id), null);
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(await store.get(short.id), null);
    assert.deepEqual((await scanAll(store)).map((e) => e.id), [long.id]);
  });

  Deno.test(`${name}: namespace invalidation touches only that tenant or agent`, async () => {
    await using store = await open();
    const t1a1 = [makeEntry({ tenant: "t1", agentId: "a1" }), makeEntry({ tenant: "t1", agentId: "a1" })];
    const t1a2 = [makeEntry({ tenant: "t1", agentId: "a:2/x" })];
    const t2a1 = [makeEntry({ tenant: "t2", agentId: "a1" }), makeEntry({ tenant: "t2", agentId: "a1" })];
    for (const e of [...t1a1, ...t1a2, ...t2a1]) await store.put(e);
    assert.equal(await store.deleteNamespace("t1", "a1"), 2);
    assert.equal(await store.get(t1a1[0].id), null);
    assert.ok(await store.get(t1a2[0].id));
    assert.equal(await store.deleteNamespace("t1"), 1);
    assert.equal(await store.deleteNamespace("t1"), 0);
    const left = (await scanAll(store)).map((e) => e.id).sort();
    assert.deepEqual(left, t2a1.map((e) => e.id).sort());
    // A tenant whose name is a prefix of another's is a different namespace.
    await store.put(makeEntry({ tenant: "t" }));
    assert.equal(await store.deleteNamespace("t"), 1);
    assert.equal((await scanAll(store)).length, 2);
  });

  Deno.test(`${name}: scan returns every live entry once`, async () => {
    await using store = await open();
    const entries = Array.from({ length: 2_500 }, (_, i) => makeEntry({ tenant: `t${i % 3}` }));
    for (let i = 0; i < entries.length; i += 50) await Promise.all(entries.slice(i, i + 50).map((e) => store.put(e)));
    // On a loaded machine a burst may time out and go through the buffer; it must drain by itself.
    await waitFor(() => store.status().connected && store.status().buffered === 0, 20_000);
    const seen = await scanAll(store);
    assert.equal(seen.length, entries.length);
    assert.equal(new Set(seen.map((e) => e.id)).size, entries.length);
  });
}

/** Registers the contract of `scan({ withoutEmbedding })`: the entries asked for come back whole but for the vector. */
export function scanWithoutEmbeddingContract(name: string, open: () => Promise<Store & AsyncDisposable>): void {
  Deno.test(`${name}: scan leaves out the embeddings of the ids asked for, and nothing else`, async () => {
    await using store = await open();
    // Response fields named like the wire's embedding field must survive untouched.
    const tricky = { e: "QUJD", nested: { e: "x" } } as unknown as Record<string, unknown>;
    const entries = Array.from({ length: 300 }, (_, i) => {
      const e = makeEntry({
        semanticText: `text "${i}", with quotes and ,"e":"` + "AAAA" + `"}`,
        ...(i % 5 === 0 ? { response: { ...makeEntry().response, ...tricky } } : {}),
      });
      if (i % 3 === 0) {
        // Exact-only entries have no embedding at all.
        delete e.embedding;
        delete e.embedder;
      } else if (i % 7 === 1) {
        // Another embedder's: not the dimension the caller holds.
        e.embedding = Array.from({ length: 16 }, (_, j) => Math.fround(Math.cos(i + j)));
        e.embedder = "other/16";
      }
      return e;
    });
    for (let i = 0; i < entries.length; i += 50) await Promise.all(entries.slice(i, i + 50).map((e) => store.put(e)));
    await waitFor(() => store.status().connected && store.status().buffered === 0, 20_000);
    const light = new Set(entries.filter((_, i) => i % 2 === 0).map((e) => e.id));
    const seen = new Map<string, CacheEntry>();
    for await (const e of store.scan({ withoutEmbedding: { ids: (id) => light.has(id), dimension: 8 } })) {
      seen.set(e.id, e);
    }
    assert.equal(seen.size, entries.length);
    for (const expected of entries) {
      const got = seen.get(expected.id)!;
      if (light.has(expected.id) && expected.embedding?.length === 16) {
        // Whether it comes with it or not, the rest of the entry is intact.
        assertSameEntry({ ...got, embedding: undefined }, { ...expected, embedding: undefined });
      } else if (light.has(expected.id)) {
        assert.equal(got.embedding, undefined, `${expected.id} came with its embedding`);
        assertSameEntry(got, { ...expected, embedding: undefined });
      } else {
        assertSameEntry(got, expected);
      }
    }
  });
}

/** Registers the contract of a store's `blobs` (stores that have them). */
export function blobContract(name: string, open: () => Promise<Store & AsyncDisposable>): void {
  Deno.test(`${name}: blobs round-trip bytes and text, expire, and a claim excludes other owners until released`, async () => {
    await using store = await open();
    const blobs = store.blobs!;
    const bytes = new Uint8Array(3 * 1024 * 1024 + 7).map((_, i) => (i * 31 + 7) & 0xff);
    await blobs.write("b1", bytes, 60_000);
    assert.deepEqual(await blobs.read("b1"), bytes);
    await blobs.write("t1", "héllo {json}", 60_000);
    assert.equal(await blobs.readText("t1"), "héllo {json}");
    assert.equal(await blobs.read("absent"), null);
    assert.equal(await blobs.readText("absent"), null);
    await blobs.expire(["t1", "absent"], 1);
    assert.ok(await waitFor(async () => (await blobs.readText("t1")) === null, 2_000));
    assert.equal(await blobs.claim("lock", "a", 60_000), true);
    assert.equal(await blobs.claim("lock", "b", 60_000), false);
    await blobs.release("lock", "b");
    assert.equal(await blobs.claim("lock", "b", 60_000), false, "only the owner releases");
    await blobs.release("lock", "a");
    assert.equal(await blobs.claim("lock", "b", 60_000), true);
  });
}
