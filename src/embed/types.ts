/**
 * The `Embedder` seam: turns texts into vectors for the semantic cache. Batch-first, because every real embedder
 * (the USE-lite worker pool, an `/v1/embeddings` endpoint) is cheaper per text in batches.
 *
 * @module
 */

/** Turns texts into fixed-length vectors. */
export interface Embedder {
  /** Short name, e.g. `use-lite`; together with `dimension` it tells whether two vectors are comparable. */
  readonly name: string;
  /** Length of every vector this embedder returns. */
  readonly dimension: number;
  /** One vector per text, in order. Vectors are L2-normalised. */
  embed(texts: string[]): Promise<number[][]>;
  /** Stops workers and connections. */
  close(): Promise<void>;
}

/** `name/dimension`, the label stored with each embedding (`CacheEntry.embedder`). */
export function embedderId(embedder: Pick<Embedder, "name" | "dimension">): string {
  return `${embedder.name}/${embedder.dimension}`;
}

/** Scales a vector to unit length (a zero vector is returned unchanged). */
export function normalize(vector: ArrayLike<number>): number[] {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i] * vector[i];
  const norm = Math.sqrt(sum);
  const out = new Array<number>(vector.length);
  for (let i = 0; i < vector.length; i++) out[i] = norm > 0 ? vector[i] / norm : vector[i];
  return out;
}

/** Dot product; the cosine similarity of two normalised vectors. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}
