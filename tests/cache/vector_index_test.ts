import assert from "node:assert/strict";
import { HnswVectorIndex } from "../../src/cache/vector_index.ts";
import { dot, normalize } from "../../src/embed/types.ts";

/** A seeded generator, so the test is the same on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

function vectors(n: number, dim: number, seed = 1): number[][] {
  const r = rng(seed);
  return Array.from({ length: n }, () => normalize(Array.from({ length: dim }, () => r() - 0.5)));
}

Deno.test("search stays inside the scope and ranks by similarity (flat partitions)", () => {
  const index = new HnswVectorIndex({ dimension: 8 });
  const vs = vectors(20, 8);
  vs.forEach((v, i) => index.add(`id${i}`, i % 2 === 0 ? "even" : "odd", v));
  const found = index.search("even", vs[4], 3);
  assert.equal(found[0].id, "id4");
  assert.ok(Math.abs(found[0].similarity - 1) < 1e-5);
  for (const n of found) assert.equal(Number(n.id.slice(2)) % 2, 0);
  for (let i = 1; i < found.length; i++) assert.ok(found[i - 1].similarity >= found[i].similarity);
  assert.deepEqual(index.search("nobody", vs[0], 3), []);
});

Deno.test("a scope grows into an HNSW graph: recall@1 against brute force, deletes, slot reuse, growth", () => {
  const dim = 32;
  const index = new HnswVectorIndex({ dimension: dim, flatLimit: 64, initialCapacity: 128 });
  const vs = vectors(1500, dim, 7);
  vs.forEach((v, i) => index.add(`e${i}`, "big", v));
  index.add("other", "small", vs[0]);
  const stats = index.stats();
  assert.equal(stats.graphScopes, 1);
  assert.equal(stats.flatScopes, 1);
  assert.equal(index.size, 1501);

  const queries = vectors(100, dim, 99);
  let correct = 0;
  for (const q of queries) {
    let best = -2, bestId = "";
    vs.forEach((v, i) => {
      const s = dot(q, v);
      if (s > best) [best, bestId] = [s, `e${i}`];
    });
    if (index.search("big", q, 1)[0]?.id === bestId) correct++;
  }
  assert.ok(correct >= 95, `recall@1 ${correct}/100`);

  for (let i = 0; i < 200; i++) assert.equal(index.remove(`e${i}`), true);
  assert.equal(index.remove("e0"), false);
  assert.ok(!index.search("big", vs[10], 5).some((n) => n.id === "e10"));
  assert.equal(index.stats().tombstones, 200);
  // New points take the tombstoned slots.
  for (let i = 0; i < 50; i++) index.add(`n${i}`, "big", vs[i]);
  assert.equal(index.stats().tombstones, 150);
  assert.equal(index.search("big", vs[3], 1)[0].id, "n3");
  // Replacing an id moves it.
  index.add("n3", "small", vs[3]);
  assert.equal(index.search("small", vs[3], 1)[0].id, "n3");
});

Deno.test("compact rebuilds a graph whose tombstones outweigh its live points", () => {
  const dim = 16;
  const index = new HnswVectorIndex({ dimension: dim, flatLimit: 32 });
  const vs = vectors(300, dim, 3);
  vs.forEach((v, i) => index.add(`e${i}`, "s", v));
  for (let i = 0; i < 250; i++) index.remove(`e${i}`);
  assert.equal(index.compact(), 1);
  assert.equal(index.stats().tombstones, 0);
  assert.equal(index.stats().graphScopes, 1);
  assert.equal(index.search("s", vs[260], 1)[0].id, "e260");
  for (let i = 250; i < 290; i++) index.remove(`e${i}`);
  index.compact();
  // Ten left: back to a flat partition.
  assert.equal(index.stats().flatScopes, 1);
  assert.equal(index.search("s", vs[295], 1)[0].id, "e295");
});

Deno.test("snapshot and restore keep every partition and answer the same", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const dim = 16;
    const index = new HnswVectorIndex({ dimension: dim, flatLimit: 50 });
    const vs = vectors(200, dim, 5);
    vs.forEach((v, i) => index.add(`e${i}`, i < 150 ? "graph" : "flat", v));
    index.remove("e3");
    await index.snapshot(dir);
    const restored = await HnswVectorIndex.restore(dir, { dimension: dim, flatLimit: 50 });
    assert.ok(restored);
    assert.deepEqual(restored.stats(), index.stats());
    for (const i of [0, 10, 149, 150, 199]) {
      assert.deepEqual(
        restored.search(i < 150 ? "graph" : "flat", vs[i], 3),
        index.search(i < 150 ? "graph" : "flat", vs[i], 3),
      );
    }
    assert.equal(restored.has("e3"), false);
    restored.add("late", "graph", vs[3]);
    assert.equal(restored.search("graph", vs[3], 1)[0].id, "late");
    assert.equal(await HnswVectorIndex.restore(dir, { dimension: 8 }), null);
    assert.equal(await HnswVectorIndex.restore(`${dir}/missing`, { dimension: dim }), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a vector of the wrong length is refused", () => {
  const index = new HnswVectorIndex({ dimension: 4 });
  assert.throws(() => index.add("x", "s", [1, 0]), /expects 4/);
});
