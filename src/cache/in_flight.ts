/**
 * Semantic single-flight: the calls of each cache scope that went upstream after a miss, so that a reworded
 * repeat arriving meanwhile can wait for that call's answer instead of making a second upstream call. Exact
 * single-flight (`src/resilience/dedup.ts`) shares identical requests; this shares prompts the cache's verifier
 * accepts as the same question, in the same scope. Which candidate may be joined is the cache's decision (same
 * threshold, same verifier as served hits); this file only keeps the flights and ranks them by cosine.
 *
 * @module
 */
import type { ChatCompletion } from "../gateway/chat_schema.ts";

/** One call in flight upstream whose answer others may wait for. */
export interface Flight {
  tenant: string;
  scopeKey: string;
  exactKey: string;
  semanticText: string;
  /** Set once the call's embedding arrived; until then the flight cannot be compared. */
  vector?: number[];
  /** The vector's norm, computed once. */
  norm?: number;
  /** When the call went upstream (`performance.now()`). */
  started: number;
  /** Resolves with the answer the call stored, or null when it ended without one (error, cancelled, partial). */
  answer: Promise<{ completion: ChatCompletion; costUsd: number } | null>;
}

/** A flight close enough to be a candidate. */
export interface FlightCandidate {
  flight: Flight;
  similarity: number;
}

/** The flights of every scope; a few per scope at most (bounded by the calls in flight). */
export class InFlightPrompts {
  #byScope = new Map<string, Flight[]>();

  /** Flights held, over all scopes. */
  get size(): number {
    let n = 0;
    for (const list of this.#byScope.values()) n += list.length;
    return n;
  }

  /** Whether a call of this scope is in flight. */
  has(scopeKey: string): boolean {
    return this.#byScope.has(scopeKey);
  }

  add(flight: Flight): void {
    const list = this.#byScope.get(flight.scopeKey);
    if (list) list.push(flight);
    else this.#byScope.set(flight.scopeKey, [flight]);
  }

  remove(flight: Flight): void {
    const list = this.#byScope.get(flight.scopeKey);
    if (!list) return;
    const i = list.indexOf(flight);
    if (i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.#byScope.delete(flight.scopeKey);
  }

  /**
   * Flights of `scopeKey` whose vector is at least `threshold` similar to `vector`, most similar first. Flights
   * started before `since` are left out (and forgotten): a call in flight that long is not worth waiting for.
   */
  near(scopeKey: string, vector: number[], threshold: number, since: number): FlightCandidate[] {
    const list = this.#byScope.get(scopeKey);
    if (!list) return [];
    const norm = normOf(vector);
    const out: FlightCandidate[] = [];
    for (const flight of [...list]) {
      if (flight.started < since) {
        this.remove(flight);
        continue;
      }
      if (!flight.vector) continue;
      flight.norm ??= normOf(flight.vector);
      const similarity = Math.min(1, dot(vector, flight.vector) / (norm * flight.norm || 1));
      if (similarity >= threshold) out.push({ flight, similarity });
    }
    return out.sort((a, b) => b.similarity - a.similarity);
  }
}

function dot(a: number[], b: number[]): number {
  let s = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

function normOf(v: number[]): number {
  return Math.sqrt(dot(v, v));
}
