/**
 * The target of a run: an external URL (`--target`), or the embedded gateway that `load run` starts itself and
 * stops afterwards. By default the embedded gateway is a child process running `src/main.ts` exactly as
 * `deno task serve` does, so the generator and the gateway each get their own event loop (and core); with
 * `inProcess` it is built with `createGateway`/`serveGateway` inside this process.
 *
 * @module
 */
import { SERVICE_V8_FLAGS } from "../setup/permissions.ts";

/** A target to send load to. */
export interface Target {
  url: string;
  kind: "embedded" | "external";
  /** Stops what was started (nothing for an external target). */
  stop(): Promise<void>;
}

const ROOT = new URL("../../", import.meta.url);

/** Options for {@linkcode startEmbeddedGateway}. */
export interface EmbeddedOptions {
  /** Environment for the gateway (API.md names); the port is always chosen freely on 127.0.0.1. */
  env?: Record<string, string>;
  inProcess?: boolean;
  timeoutMs?: number;
}

/** Starts the embedded gateway on a free loopback port. */
export async function startEmbeddedGateway(options: EmbeddedOptions = {}): Promise<Target> {
  const env = { AMAS_LOG_LEVEL: "warn", ...options.env, AMAS_HOST: "127.0.0.1", AMAS_PORT: "0" };
  if (options.inProcess) {
    // Imported on demand: the gateway's modules (tokenizer, embedder) cost start-up time a load run against an
    // external target or a child process does not need.
    const [{ loadConfig }, { createGateway }, { serveGateway }] = await Promise.all([
      import("../config.ts"),
      import("../wiring.ts"),
      import("../server.ts"),
    ]);
    const gateway = await createGateway(loadConfig({ env }));
    const running = serveGateway(gateway);
    await waitUntilReady(running.url, options.timeoutMs ?? 90_000);
    return { url: running.url, kind: "embedded", stop: () => running.shutdown() };
  }
  const target = await spawnGateway(env, options.timeoutMs ?? 90_000);
  try {
    await waitUntilReady(target.url, options.timeoutMs ?? 90_000);
  } catch (err) {
    await target.stop();
    throw err;
  }
  return target;
}

/** Polls `GET /readyz` until it answers 200 (the gateway warmed its index and reached its store). */
export async function waitUntilReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) });
      last = `${res.status} ${(await res.text()).slice(0, 300)}`;
      if (res.status === 200) return;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the gateway at ${url} was not ready within ${timeoutMs} ms (last /readyz: ${last})`);
}

async function spawnGateway(env: Record<string, string>, timeoutMs: number): Promise<Target> {
  // The gateway must not inherit the caller's gateway settings (a REDIS_URL meant for something else).
  const keep: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "DENO_DIR", "TMPDIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) keep[name] = value;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...SERVICE_V8_FLAGS, "src/main.ts"],
    cwd: ROOT,
    env: { ...keep, ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the embedded gateway did not start within ${timeoutMs} ms:\n${log.slice(-2000)}`)),
      timeoutMs,
    );
    (async () => {
      const decoder = new TextDecoder();
      let listening = false;
      for await (const bytes of child.stderr) {
        // Keep draining stderr for the whole run (a full pipe would block the gateway), but keep only a tail.
        log = (log + decoder.decode(bytes, { stream: true })).slice(-20_000);
        if (!listening) {
          const m = /gateway listening on (http:\/\/\S+)/.exec(log);
          if (m) {
            listening = true;
            clearTimeout(timer);
            resolve(m[1]);
          }
        }
      }
      if (!listening) {
        clearTimeout(timer);
        reject(new Error(`the embedded gateway exited before listening:\n${log.slice(-2000)}`));
      }
    })().catch(reject);
  });
  return {
    url,
    kind: "embedded",
    async stop() {
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch { /* already gone */ }
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, 15_000);
      await status;
      clearTimeout(timer);
    },
  };
}

/** An external target; nothing to start or stop. */
export function externalTarget(url: string): Target {
  const parsed = new URL(url);
  return { url: parsed.origin, kind: "external", stop: () => Promise.resolve() };
}
