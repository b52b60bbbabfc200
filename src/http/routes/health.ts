/**
 * `GET /healthz` (the process answers) and `GET /readyz` (it should receive traffic: every readiness check
 * passes and it is not draining). Probes never need a key.
 *
 * @module
 */
import type { Context } from "hono";

/** A readiness check: a name and a function saying whether that part is ready, with a detail. */
export interface ReadinessCheck {
  name: string;
  check(): { ready: boolean; detail?: string };
}

/** Readiness state shared with the shutdown logic. */
export class Readiness {
  #checks: ReadinessCheck[] = [];
  #draining = false;

  /** Adds a check (the cache warm-up, the store connection, …). */
  add(check: ReadinessCheck): void {
    this.#checks.push(check);
  }

  /** Marks the process as draining: readiness fails so Kubernetes stops sending traffic. */
  drain(): void {
    this.#draining = true;
  }

  /** Whether draining started. */
  get draining(): boolean {
    return this.#draining;
  }

  /** The state of every check. */
  report(): { ready: boolean; checks: Record<string, { ready: boolean; detail?: string }> } {
    const checks: Record<string, { ready: boolean; detail?: string }> = {};
    let ready = !this.#draining;
    if (this.#draining) checks.shutdown = { ready: false, detail: "draining" };
    for (const c of this.#checks) {
      let state: { ready: boolean; detail?: string };
      try {
        state = c.check();
      } catch (err) {
        state = { ready: false, detail: (err as Error).message };
      }
      checks[c.name] = state;
      ready &&= state.ready;
    }
    return { ready, checks };
  }
}

/** Liveness. */
export function healthz(c: Context): Response {
  return c.json({ status: "ok" });
}

/** Readiness: 200 when ready, 503 with the failing checks otherwise. */
export function readyz(readiness: Readiness) {
  return function readyz(c: Context): Response {
    const report = readiness.report();
    return c.json({ status: report.ready ? "ready" : "not_ready", checks: report.checks }, report.ready ? 200 : 503);
  };
}
