/**
 * API-key authentication. Keys map to tenants; only their SHA-256 digests are kept, and a presented key is
 * compared against every digest in constant time, so neither the key nor its position leaks through timing.
 * With no keys configured the gateway is single-tenant (`local`) and start-up already refused non-loopback hosts.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { GatewayEnv } from "../context.ts";
import { AuthenticationError, PermissionError } from "../../errors.ts";

const encoder = new TextEncoder();

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/** Equal-length byte arrays compared without an early exit. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** The bearer token of a request, from `Authorization: Bearer …` (or `api-key`, as Azure-style clients send). */
export function bearerToken(authorization: string | undefined, apiKeyHeader?: string): string | undefined {
  if (authorization) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return m ? m[1] : undefined;
  }
  return apiKeyHeader || undefined;
}

/** Verifies API keys and admin tokens against stored digests. */
export class KeyRing {
  #tenants: { tenant: string; digest: Uint8Array }[] = [];
  #admin?: Uint8Array;

  /** Builds a key ring from `tenant → key` pairs and an optional admin token. */
  static async create(apiKeys: Record<string, string>, adminToken?: string): Promise<KeyRing> {
    const ring = new KeyRing();
    for (const [tenant, key] of Object.entries(apiKeys)) ring.#tenants.push({ tenant, digest: await sha256(key) });
    if (adminToken) ring.#admin = await sha256(adminToken);
    return ring;
  }

  /** Whether any API key is configured. */
  get enabled(): boolean {
    return this.#tenants.length > 0;
  }

  /** Whether an admin token is configured. */
  get hasAdmin(): boolean {
    return this.#admin !== undefined;
  }

  /** The tenant of a key, or undefined. Every digest is compared, matched or not. */
  async tenantOf(key: string): Promise<string | undefined> {
    const digest = await sha256(key);
    let found: string | undefined;
    for (const entry of this.#tenants) if (constantTimeEqual(entry.digest, digest)) found = entry.tenant;
    return found;
  }

  /** Whether the token is the admin token. */
  async isAdmin(token: string): Promise<boolean> {
    if (!this.#admin) return false;
    return constantTimeEqual(this.#admin, await sha256(token));
  }
}

/** Resolves the tenant from the API key; 401 without a valid one (when keys are configured). */
export function apiKeyAuth(keys: KeyRing): MiddlewareHandler<GatewayEnv> {
  return async function apiKeyAuth(c, next) {
    if (!keys.enabled) {
      c.set("tenant", "local");
      return next();
    }
    const token = bearerToken(c.req.header("authorization"), c.req.header("api-key"));
    if (!token) {
      throw new AuthenticationError("missing API key: send 'Authorization: Bearer <key>'");
    }
    const tenant = await keys.tenantOf(token);
    if (!tenant) throw new AuthenticationError("invalid API key");
    c.set("tenant", tenant);
    return next();
  };
}

/**
 * Admin routes need the admin token (`Authorization: Bearer` or `x-amas-admin-token`). Without keys and without
 * an admin token the gateway is a loopback-only developer setup, and admin routes are open to it.
 */
export function adminAuth(keys: KeyRing): MiddlewareHandler<GatewayEnv> {
  return async function adminAuth(c, next) {
    if (!keys.hasAdmin) {
      if (!keys.enabled) return next();
      throw new PermissionError("admin routes are disabled: set AMAS_ADMIN_TOKEN to use them");
    }
    const token = c.req.header("x-amas-admin-token") ?? bearerToken(c.req.header("authorization"));
    if (!token) throw new AuthenticationError("missing admin token: send 'x-amas-admin-token: <token>'");
    if (!(await keys.isAdmin(token))) throw new PermissionError("this route needs the admin token");
    return next();
  };
}
