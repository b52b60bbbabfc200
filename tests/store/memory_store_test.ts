import assert from "node:assert/strict";
import { MemoryStore, SNAPSHOT_FILE } from "../../src/store/memory_store.ts";
import { scanAll, scanWithoutEmbeddingContract, storeContract } from "./contract.ts";
import { makeEntry } from "./fixtures.ts";
import { HnswVectorIndex } from "../../src/cache/vector_index.ts";

function disposable(store: MemoryStore): MemoryStore & AsyncDisposable {
  return Object.assign(store, { [Symbol.asyncDispose]: () => store.close() });
}

storeContract("memory store", async () => disposable(await MemoryStore.open()));
scanWithoutEmbeddingContract("memory store", async () => disposable(await MemoryStore.open()));

Deno.test("memory store: a snapshot in the data directory survives a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "amas-store-" });
  try {
    const first = await MemoryStore.open({ dataDir: dir });
    const keep = makeEntry({ embedding: [0.5, 0.25, -1] });
    const expiring = makeEntry({ expiresAt: Date.now() + 300 });
    await first.put(keep);
    await first.put(expiring);
    await first.close();
    assert.ok((await Deno.stat(`${dir}/${SNAPSHOT_FILE}`)).size > 0);
    await new Promise((r) => setTimeout(r, 400));
    const second = await MemoryStore.open({ dataDir: dir });
    assert.deepEqual(await second.get(keep.id), keep);
    assert.equal(await second.get(expiring.id), null);
    assert.equal((await scanAll(second)).length, 1);
    await second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("memory store: periodic snapshots and a corrupt line does not stop loading", async () => {
  const dir = await Deno.makeTempDir({ prefix: "amas-store-" });
  try {
    const store = await MemoryStore.open({ dataDir: dir, snapshotIntervalMs: 50 });
    await store.put(makeEntry({ id: "periodic" }));
    const deadline = Date.now() + 5_000;
    let text = "";
    while (Date.now() < deadline && !text.includes("periodic")) {
      await new Promise((r) => setTimeout(r, 50));
      text = await Deno.readTextFile(`${dir}/${SNAPSHOT_FILE}`).catch(() => "");
    }
    assert.match(text, /periodic/);
    // The crash case: the process dies without close(); the periodic snapshot is what remains.
    await Deno.writeTextFile(`${dir}/${SNAPSHOT_FILE}`, text + "{not json\n");
    const again = await MemoryStore.open({ dataDir: dir });
    assert.ok(await again.get("periodic"));
    await again.close();
    await store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("memory store: the entry bound evicts the oldest written; sweep drops expired", async () => {
  let now = 1_000_000;
  const store = await MemoryStore.open({ maxEntries: 3, now: () => now });
  const [a, b, c, d] = [1, 2, 3, 4].map(() => makeEntry({ createdAt: now, expiresAt: now + 1_000 }));
  for (const e of [a, b, c]) await store.put(e);
  await store.put(a); // rewritten: now the newest
  await store.put(d);
  assert.equal(await store.get(b.id), null);
  assert.ok(await store.get(a.id));
  assert.equal(store.status().entries, 3);
  now += 2_000;
  assert.equal(store.sweep(), 3);
  assert.equal(store.status().entries, 0);
  await store.close();
});

Deno.test("memory store: subscribe never emits for the process's own writes", async () => {
  const store = await MemoryStore.open();
  let seen = 0;
  const off = store.subscribe(() => seen++);
  await store.put(makeEntry());
  await store.deleteNamespace("t1");
  off();
  assert.equal(seen, 0);
  await store.close();
});

/** A real vector index as the store's vector source (what a cache in the same process attaches). */
function indexSource(embedder = "hash/8") {
  const index = new HnswVectorIndex({ dimension: 8 });
  return { index, source: { embedder, has: (id: string) => index.has(id), vector: (id: string) => index.vector(id) } };
}

const close = (a: ArrayLike<number> | undefined, b: ArrayLike<number> | undefined) =>
  a !== undefined && b !== undefined && a.length === b.length &&
  Array.from(a).every((x, i) => Math.abs(x - b[i]) < 1e-5);

Deno.test("memory store: with a vector source it keeps no copy of the vectors the source holds", async () => {
  const store = await MemoryStore.open();
  const { index, source } = indexSource();
  store.shareVectors(source);
  const shared = makeEntry();
  const own = makeEntry({ embedder: "other/8" });
  index.add(shared.id, shared.scopeKey, shared.embedding!);
  await store.put(shared);
  await store.put(own);
  // Reads take the vector from the source.
  assert.ok(close((await store.get(shared.id))?.embedding, index.vector(shared.id)));
  assert.ok(close((await scanAll(store)).find((e) => e.id === shared.id)?.embedding, index.vector(shared.id)));
  // Once the source lets go of it, the store has no copy of its own; another embedder's vector it keeps.
  index.remove(shared.id);
  assert.equal((await store.get(shared.id))?.embedding, undefined);
  assert.ok(close((await store.get(own.id))?.embedding, own.embedding));
  await store.close();
});

Deno.test("memory store: snapshots carry the source's vectors; a warm-up scan hands loaded vectors over", async () => {
  const dir = await Deno.makeTempDir({ prefix: "amas-store-" });
  try {
    const first = await MemoryStore.open({ dataDir: dir });
    const { index, source } = indexSource();
    first.shareVectors(source);
    const shared = makeEntry();
    const other = makeEntry({ embedder: "other/8" });
    index.add(shared.id, shared.scopeKey, shared.embedding!);
    await first.put(shared);
    await first.put(other);
    await first.close();
    assert.match(await Deno.readTextFile(`${dir}/${SNAPSHOT_FILE}`), /"e":"/);

    // A restart: the store loads both vectors; a cache warming from it takes the ones of its embedder.
    const second = await MemoryStore.open({ dataDir: dir });
    const fresh = indexSource();
    second.shareVectors(fresh.source);
    for await (const entry of second.scan()) {
      assert.ok(entry.embedding, "the snapshot kept every vector");
      if (entry.embedder === fresh.source.embedder) fresh.index.add(entry.id, entry.scopeKey, entry.embedding);
    }
    assert.ok(close((await second.get(shared.id))?.embedding, shared.embedding));
    fresh.index.remove(shared.id);
    assert.equal((await second.get(shared.id))?.embedding, undefined, "the store dropped its copy after the scan");
    assert.ok(close((await second.get(other.id))?.embedding, other.embedding), "vectors nobody holds stay");
    await second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("memory store: sharedEntry hands out its own copy of the same version only", async () => {
  await using store = disposable(await MemoryStore.open());
  const entry = makeEntry({ embedding: [0.5, 0.25, -1] });
  await store.put(entry);
  const shared = store.sharedEntry(entry);
  assert.ok(shared);
  assert.equal(shared.response, entry.response);
  assert.equal(shared.embedding, undefined);
  // What a reader gets from get() is a copy, equal to what was put.
  const read = await store.get(entry.id);
  assert.deepEqual(read, entry);
  assert.notEqual(read, shared);
  // Another version of the id (newer answer, other times, other tenant) is not shared.
  assert.equal(store.sharedEntry({ ...entry, response: { ...entry.response } }), undefined);
  assert.equal(store.sharedEntry({ ...entry, createdAt: entry.createdAt + 1 }), undefined);
  assert.equal(store.sharedEntry({ ...entry, tenant: "other" }), undefined);
  assert.equal(store.sharedEntry(makeEntry()), undefined);
  await store.delete(entry.id);
  assert.equal(store.sharedEntry(entry), undefined);
});
