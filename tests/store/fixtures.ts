/**
 * Test helpers for the store tests: cache entries with realistic shapes.
 *
 * @module
 */
import type { CacheEntry } from "../../src/store/types.ts";

let seq = 0;

/** A cache entry; `overrides` win. The embedding is 8-d unless given. */
export function makeEntry(overrides: Partial<CacheEntry> = {}): CacheEntry {
  const n = ++seq;
  const id = overrides.id ?? `e-${n}-${crypto.randomUUID().slice(0, 8)}`;
  const now = Date.now();
  return {
    id,
    tenant: "t1",
    agentId: "a1",
    scopeKey: "scope-1",
    exactKey: `exact-${id}`,
    semanticText: `question number ${n}`,
    embedding: Array.from({ length: 8 }, (_, i) => Math.fround(Math.sin(n + i))),
    embedder: "hash/8",
    response: {
      id: `chatcmpl-${n}`,
      object: "chat.completion",
      created: Math.floor(now / 1000),
      model: "sim-small",
      choices: [{ index: 0, message: { role: "assistant", content: `answer ${n}` }, finish_reason: "stop" }],
      usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
    } as CacheEntry["response"],
    costUsd: 0.0001,
    createdAt: now,
    expiresAt: now + 60_000,
    ...overrides,
  };
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes; returns the last value. */
export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = 5_000, stepMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await fn();
  while (!value && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, stepMs));
    value = await fn();
  }
  return value;
}
