/**
 * A cheap deterministic embedder for unit tests: hashed bag of words and character trigrams. Texts sharing words
 * get similar vectors, so tests can exercise semantic paths without the neural model. Never the served default.
 *
 * @module
 */
import { type Embedder, normalize } from "./types.ts";

/** Feature hashing of words and trigrams into `dimension` buckets. */
export class HashEmbedder implements Embedder {
  readonly name = "hash";
  readonly dimension: number;

  constructor(options: { dimension?: number } = {}) {
    this.dimension = options.dimension ?? 256;
  }

  embed(texts: string[]): Promise<number[][]> {
    return Promise.resolve(texts.map((t) => this.embedOne(t)));
  }

  /** The vector of one text, synchronously. */
  embedOne(text: string): number[] {
    const v = new Float64Array(this.dimension);
    const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
    for (const w of words) {
      v[fnv1a(`w:${w}`) % this.dimension] += 1;
      const padded = ` ${w} `;
      for (let i = 0; i + 3 <= padded.length; i++) v[fnv1a(`t:${padded.slice(i, i + 3)}`) % this.dimension] += 0.3;
    }
    if (words.length === 0) v[0] = 1;
    return normalize(v);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
