/**
 * One copy of the strings that many cache entries repeat: tenant, agent, scope key, embedder, and the answer's
 * `model` and `object`. Each entry decoded from a snapshot, Redis or a request otherwise holds its own copy of each
 * (~30-80 bytes apiece, ~12 MB at 100k entries). The table is shared by the process's store and cache, so both
 * point at the same copies; it holds at most {@linkcode MAX_INTERNED} strings and starts over when full (sharing is
 * lost for new entries until then, never correctness: an interned string is equal to the one it replaces).
 *
 * @module
 */
import type { CacheEntry } from "./types.ts";

/** Bound on the table (distinct scope keys and tenants; beyond this the table is cleared). */
export const MAX_INTERNED = 20_000;
/** Longer strings are not worth a table entry (a scope key is 24 characters). */
const MAX_LENGTH = 128;

const table = new Map<string, string>();

/** The process's copy of `s` (short strings only; others come back as they are). */
export function intern<T extends string | undefined>(s: T): T {
  if (typeof s !== "string" || s.length > MAX_LENGTH) return s;
  const held = table.get(s);
  if (held !== undefined) return held as T;
  if (table.size >= MAX_INTERNED) table.clear();
  table.set(s, s);
  return s;
}

/** Replaces the repeated strings of `entry` (and of its answer) with their shared copies, in place. */
export function internEntry<E extends Omit<CacheEntry, "embedding">>(entry: E): E {
  entry.tenant = intern(entry.tenant);
  entry.agentId = intern(entry.agentId);
  entry.scopeKey = intern(entry.scopeKey);
  if (entry.embedder !== undefined) entry.embedder = intern(entry.embedder);
  const response = entry.response as { model?: unknown; object?: unknown } | undefined;
  if (response && typeof response === "object" && !Object.isFrozen(response)) {
    if (typeof response.model === "string") response.model = intern(response.model);
    if (typeof response.object === "string") response.object = intern(response.object);
  }
  return entry;
}
