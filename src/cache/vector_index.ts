/**
 * The vector index of the semantic cache: k-nearest-neighbour search restricted to one scope, on `hnswlib-node`.
 *
 * Why partitions per scope: a single HNSW graph with a filter callback degrades to a scan of the whole graph when
 * the scope holds few of its points (hnswlib keeps exploring until it has `ef` allowed results), and every
 * candidate crosses the native boundary. So each scope starts as a flat partition (exact brute force over
 * Float32Arrays, faster than a graph below a few hundred vectors) and is promoted to its own HNSW graph when it
 * grows past `flatLimit`. Deletes in a graph are tombstones (`markDelete`) whose slots new points reuse; a graph
 * whose tombstones outweigh its live points is rebuilt by `compact()`. Graphs grow with `resizeIndex`, and
 * `snapshot`/`restore` persist everything with `writeIndex`/`readIndex` for fast restarts.
 *
 * @module
 */
import hnswlib from "hnswlib-node";
import { join } from "node:path";

const { HierarchicalNSW } = hnswlib;
type Hnsw = InstanceType<typeof HierarchicalNSW>;

/** One neighbour found by a search. */
export interface Neighbour {
  id: string;
  /** Cosine similarity to the query (vectors are normalised). */
  similarity: number;
}

/** k-NN search over normalised vectors, partitioned by scope. */
export interface VectorIndex {
  readonly dimension: number;
  /** Live vectors. */
  readonly size: number;
  /** Adds a vector for `id` in `scope` (replacing any earlier vector of that id). */
  add(id: string, scope: string, vector: ArrayLike<number>): void;
  /** Removes an id; true when it was present. */
  remove(id: string): boolean;
  has(id: string): boolean;
  /** The vector held for `id`, if any (as added; a graph partition hands it back normalised). */
  vector(id: string): ArrayLike<number> | undefined;
  /** Vectors held for `scope`. */
  scopeSize(scope: string): number;
  /** Every id held. */
  ids(): string[];
  /** The `k` most similar vectors of `scope`, most similar first. */
  search(scope: string, vector: ArrayLike<number>, k: number): Neighbour[];
  /** Rebuilds graphs whose tombstones outweigh their live points; returns how many were rebuilt. */
  compact(): number;
  /**
   * Writes the index to a directory (created if missing). Safe while the index keeps changing: each partition is
   * written and described in one synchronous step, and the event loop runs between partitions.
   */
  snapshot(dir: string): Promise<void>;
  /** Adds and removes since the index was created or restored (a snapshot is worth publishing when it grew). */
  readonly changes: number;
  /** Counters for stats and tests. */
  stats(): VectorIndexStats;
}

/** What an index holds. */
export interface VectorIndexStats {
  size: number;
  scopes: number;
  flatScopes: number;
  graphScopes: number;
  tombstones: number;
}

/** Options for {@linkcode HnswVectorIndex}. */
export interface HnswIndexOptions {
  dimension: number;
  /** A scope becomes an HNSW graph above this many vectors (brute force below). */
  flatLimit?: number;
  /** HNSW `M`: links per node. */
  m?: number;
  efConstruction?: number;
  efSearch?: number;
  /** Initial capacity of a new graph; it doubles when full. */
  initialCapacity?: number;
}

interface FlatPartition {
  kind: "flat";
  ids: string[];
  vectors: Float32Array[];
}

interface GraphPartition {
  kind: "graph";
  index: Hnsw;
  labelToId: Map<number, string>;
  idToLabel: Map<string, number>;
  nextLabel: number;
  tombstones: number;
}

type Partition = FlatPartition | GraphPartition;

interface Manifest {
  version: 1;
  dimension: number;
  partitions: (
    | { scope: string; kind: "flat"; ids: string[]; file: string }
    | { scope: string; kind: "graph"; file: string; labels: [number, string][]; nextLabel: number; tombstones: number }
  )[];
}

/** Options of {@linkcode HnswVectorIndex.restore}. */
export interface RestoreFiles {
  /** Resolves when `file` is complete in the directory (a download still writing the others), rejects to abort. */
  before?: (file: string) => Promise<void>;
}

/** Scope-partitioned vector index: brute force for small scopes, one HNSW graph per large scope. */
export class HnswVectorIndex implements VectorIndex {
  readonly dimension: number;
  #options: Required<HnswIndexOptions>;
  #partitions = new Map<string, Partition>();
  #scopeOf = new Map<string, string>();
  #changes = 0;

  constructor(options: HnswIndexOptions) {
    this.dimension = options.dimension;
    this.#options = {
      dimension: options.dimension,
      flatLimit: options.flatLimit ?? 512,
      m: options.m ?? 16,
      efConstruction: options.efConstruction ?? 48,
      efSearch: options.efSearch ?? 64,
      initialCapacity: options.initialCapacity ?? 1024,
    };
  }

  get size(): number {
    return this.#scopeOf.size;
  }

  get changes(): number {
    return this.#changes;
  }

  has(id: string): boolean {
    return this.#scopeOf.has(id);
  }

  ids(): string[] {
    return [...this.#scopeOf.keys()];
  }

  vector(id: string): ArrayLike<number> | undefined {
    const scope = this.#scopeOf.get(id);
    const partition = scope === undefined ? undefined : this.#partitions.get(scope);
    if (!partition) return undefined;
    if (partition.kind === "flat") return partition.vectors[partition.ids.indexOf(id)];
    const label = partition.idToLabel.get(id);
    return label === undefined ? undefined : partition.index.getPoint(label);
  }

  scopeSize(scope: string): number {
    const p = this.#partitions.get(scope);
    return !p ? 0 : p.kind === "flat" ? p.ids.length : p.idToLabel.size;
  }

  add(id: string, scope: string, vector: ArrayLike<number>): void {
    if (vector.length !== this.dimension) {
      throw new Error(`vector has ${vector.length} dimensions, the index expects ${this.dimension}`);
    }
    if (this.#scopeOf.has(id)) this.remove(id);
    let partition = this.#partitions.get(scope);
    if (!partition) {
      partition = { kind: "flat", ids: [], vectors: [] };
      this.#partitions.set(scope, partition);
    }
    if (partition.kind === "flat") {
      partition.ids.push(id);
      partition.vectors.push(Float32Array.from(vector));
      if (partition.ids.length > this.#options.flatLimit) this.#partitions.set(scope, this.#promote(partition));
    } else {
      this.#graphAdd(partition, id, Array.from(vector));
    }
    this.#scopeOf.set(id, scope);
    this.#changes++;
  }

  remove(id: string): boolean {
    const scope = this.#scopeOf.get(id);
    if (scope === undefined) return false;
    this.#scopeOf.delete(id);
    this.#changes++;
    const partition = this.#partitions.get(scope)!;
    if (partition.kind === "flat") {
      const i = partition.ids.indexOf(id);
      // Swap-remove: order inside a flat partition carries no meaning.
      const last = partition.ids.length - 1;
      partition.ids[i] = partition.ids[last];
      partition.vectors[i] = partition.vectors[last];
      partition.ids.pop();
      partition.vectors.pop();
      if (partition.ids.length === 0) this.#partitions.delete(scope);
    } else {
      const label = partition.idToLabel.get(id)!;
      partition.idToLabel.delete(id);
      partition.labelToId.delete(label);
      partition.index.markDelete(label);
      partition.tombstones++;
      if (partition.idToLabel.size === 0) this.#partitions.delete(scope);
    }
    return true;
  }

  search(scope: string, vector: ArrayLike<number>, k: number): Neighbour[] {
    const partition = this.#partitions.get(scope);
    if (!partition || k <= 0) return [];
    if (partition.kind === "flat") return flatSearch(partition, vector, k);
    const live = partition.idToLabel.size;
    const want = Math.min(k, live);
    if (want === 0) return [];
    partition.index.setEf(Math.max(this.#options.efSearch, want));
    const query = Array.isArray(vector) ? vector as number[] : Array.from(vector);
    const { neighbors, distances } = partition.index.searchKnn(query, want);
    const out: Neighbour[] = [];
    for (let i = 0; i < neighbors.length; i++) {
      const id = partition.labelToId.get(neighbors[i]);
      if (id !== undefined) out.push({ id, similarity: 1 - distances[i] });
    }
    return out;
  }

  compact(): number {
    let rebuilt = 0;
    for (const [scope, partition] of this.#partitions) {
      if (partition.kind !== "graph") continue;
      const live = partition.idToLabel.size;
      if (partition.tombstones <= live) continue;
      if (live <= this.#options.flatLimit) {
        const flat: FlatPartition = { kind: "flat", ids: [], vectors: [] };
        for (const [id, label] of partition.idToLabel) {
          flat.ids.push(id);
          flat.vectors.push(Float32Array.from(partition.index.getPoint(label)));
        }
        this.#partitions.set(scope, flat);
      } else {
        const graph = this.#newGraph(Math.max(this.#options.initialCapacity, live * 2));
        for (const [id, label] of partition.idToLabel) this.#graphAdd(graph, id, partition.index.getPoint(label));
        this.#partitions.set(scope, graph);
      }
      rebuilt++;
    }
    return rebuilt;
  }

  stats(): VectorIndexStats {
    let flatScopes = 0, graphScopes = 0, tombstones = 0;
    for (const p of this.#partitions.values()) {
      if (p.kind === "flat") flatScopes++;
      else {
        graphScopes++;
        tombstones += p.tombstones;
      }
    }
    return { size: this.size, scopes: this.#partitions.size, flatScopes, graphScopes, tombstones };
  }

  async snapshot(dir: string): Promise<void> {
    await Deno.mkdir(dir, { recursive: true });
    const manifest: Manifest = { version: 1, dimension: this.dimension, partitions: [] };
    let n = 0;
    // A copy: partitions created or promoted meanwhile are picked up by the next snapshot.
    for (const scope of [...this.#partitions.keys()]) {
      const p = this.#partitions.get(scope);
      if (!p) continue;
      const file = `p${n++}.${p.kind === "flat" ? "f32" : "hnsw"}`;
      if (p.kind === "flat") {
        const all = new Float32Array(p.ids.length * this.dimension);
        p.vectors.forEach((v, i) => all.set(v, i * this.dimension));
        manifest.partitions.push({ scope, kind: "flat", ids: [...p.ids], file });
        await Deno.writeFile(join(dir, file), new Uint8Array(all.buffer));
      } else {
        // Synchronous: hnswlib's async writer runs on another thread, which must not read a graph the event
        // loop is adding to (or resizing). The labels are taken in the same step, so file and labels agree.
        p.index.writeIndexSync(join(dir, file));
        manifest.partitions.push({
          scope,
          kind: "graph",
          file,
          labels: [...p.labelToId],
          nextLabel: p.nextLabel,
          tombstones: p.tombstones,
        });
        await new Promise((r) => setTimeout(r, 0));
      }
    }
    // The manifest goes last and atomically, so a crash mid-snapshot leaves the previous manifest (or none).
    const tmp = join(dir, "manifest.json.tmp");
    await Deno.writeTextFile(tmp, JSON.stringify(manifest));
    await Deno.rename(tmp, join(dir, "manifest.json"));
  }

  /**
   * Loads an index written by {@linkcode HnswVectorIndex.snapshot}; null when the directory holds none (or one of
   * another format or dimension). Rejects when the files do not match their manifest.
   */
  static async restore(
    dir: string,
    options: HnswIndexOptions,
    files: RestoreFiles = {},
  ): Promise<HnswVectorIndex | null> {
    let manifest: Manifest;
    try {
      manifest = JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
    } catch {
      return null;
    }
    if (manifest.version !== 1 || manifest.dimension !== options.dimension) return null;
    const index = new HnswVectorIndex(options);
    for (const p of manifest.partitions) {
      await files.before?.(p.file);
      if (p.kind === "flat") {
        const bytes = await Deno.readFile(join(dir, p.file));
        if (bytes.byteLength !== p.ids.length * index.dimension * 4) {
          throw new Error(`index snapshot file ${p.file} has ${bytes.byteLength} bytes, the manifest says otherwise`);
        }
        const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
        const flat: FlatPartition = { kind: "flat", ids: p.ids, vectors: [] };
        p.ids.forEach((id, i) => {
          flat.vectors.push(all.slice(i * index.dimension, (i + 1) * index.dimension));
          index.#scopeOf.set(id, p.scope);
        });
        index.#partitions.set(p.scope, flat);
      } else {
        const graph = new HierarchicalNSW("cosine", index.dimension);
        await graph.readIndex(join(dir, p.file), true);
        // A graph that does not hold every labelled point is not the one the manifest describes.
        const held = new Set(graph.getIdsList());
        if (p.labels.some(([label]) => !held.has(label))) {
          throw new Error(`index snapshot file ${p.file} does not hold the points its manifest lists`);
        }
        const part: GraphPartition = {
          kind: "graph",
          index: graph,
          labelToId: new Map(p.labels),
          idToLabel: new Map(p.labels.map(([l, id]) => [id, l])),
          nextLabel: p.nextLabel,
          tombstones: p.tombstones,
        };
        for (const id of part.idToLabel.keys()) index.#scopeOf.set(id, p.scope);
        index.#partitions.set(p.scope, part);
      }
    }
    return index;
  }

  #newGraph(capacity: number): GraphPartition {
    const index = new HierarchicalNSW("cosine", this.dimension);
    index.initIndex({
      maxElements: capacity,
      m: this.#options.m,
      efConstruction: this.#options.efConstruction,
      randomSeed: 100,
      allowReplaceDeleted: true,
    });
    return { kind: "graph", index, labelToId: new Map(), idToLabel: new Map(), nextLabel: 0, tombstones: 0 };
  }

  #promote(flat: FlatPartition): GraphPartition {
    const graph = this.#newGraph(Math.max(this.#options.initialCapacity, flat.ids.length * 2));
    flat.ids.forEach((id, i) => this.#graphAdd(graph, id, Array.from(flat.vectors[i])));
    return graph;
  }

  #graphAdd(graph: GraphPartition, id: string, vector: number[]): void {
    const label = graph.nextLabel++;
    if (graph.tombstones > 0) {
      // Reuse a tombstoned slot instead of growing the graph.
      graph.index.addPoint(vector, label, true);
      graph.tombstones--;
    } else {
      if (graph.index.getCurrentCount() >= graph.index.getMaxElements()) {
        graph.index.resizeIndex(graph.index.getMaxElements() * 2);
      }
      graph.index.addPoint(vector, label, false);
    }
    graph.labelToId.set(label, id);
    graph.idToLabel.set(id, label);
  }
}

function flatSearch(p: FlatPartition, query: ArrayLike<number>, k: number): Neighbour[] {
  const dim = query.length;
  const q = query instanceof Float32Array ? query : Float32Array.from(query);
  const top: Neighbour[] = [];
  for (let i = 0; i < p.vectors.length; i++) {
    const v = p.vectors[i];
    let s = 0;
    for (let j = 0; j < dim; j++) s += q[j] * v[j];
    if (top.length < k) {
      top.push({ id: p.ids[i], similarity: s });
      top.sort((a, b) => b.similarity - a.similarity);
    } else if (s > top[k - 1].similarity) {
      top[k - 1] = { id: p.ids[i], similarity: s };
      top.sort((a, b) => b.similarity - a.similarity);
    }
  }
  return top;
}
