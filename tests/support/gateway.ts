/**
 * Test support: a real gateway, in this process (port 0) or as a child process running `src/main.ts` exactly as
 * `deno task serve` does.
 *
 * @module
 */
import { loadConfig } from "../../src/config.ts";
import { createGateway, type Gateway } from "../../src/wiring.ts";
import { type RunningGateway, serveGateway } from "../../src/server.ts";
import { SERVICE_RUN_FLAGS } from "../../src/setup/permissions.ts";

/** A gateway listening on a free loopback port inside the test process. */
export interface TestGateway extends RunningGateway {
  gateway: Gateway;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a gateway in-process. `env` is read like the process environment (API.md names); `overrides` are
 * configuration fields applied last. Nothing of the real environment leaks in.
 */
export async function startGateway(
  options: { env?: Record<string, string>; overrides?: Record<string, unknown> } = {},
): Promise<TestGateway> {
  const config = loadConfig({
    env: { AMAS_PORT: "0", AMAS_LOG_LEVEL: "warn", ...options.env },
    overrides: options.overrides,
  });
  const gateway = await createGateway(config);
  const running = serveGateway(gateway);
  return { ...running, gateway, [Symbol.asyncDispose]: () => running.shutdown() };
}

/** A gateway child process. */
export interface ChildGateway {
  url: string;
  process: Deno.ChildProcess;
  /** Everything the child wrote to stderr so far. */
  stderr(): string;
  /** Sends a signal and waits for the exit status. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  [Symbol.asyncDispose](): Promise<void>;
}

const ROOT = new URL("../../", import.meta.url);

/** Starts `src/main.ts` in a child process with `env` and waits until it listens (or fails). */
export async function spawnGateway(env: Record<string, string> = {}, timeoutMs = 60_000): Promise<ChildGateway> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...SERVICE_RUN_FLAGS, "src/main.ts"],
    cwd: ROOT,
    env: { AMAS_PORT: "0", AMAS_LOG_LEVEL: "info", ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  let status: Deno.CommandStatus | undefined;
  const exited = child.status.then((s) => status = s);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start in ${timeoutMs} ms:\n${log}`)), timeoutMs);
    (async () => {
      const decoder = new TextDecoder();
      for await (const bytes of child.stderr) {
        log += decoder.decode(bytes, { stream: true });
        const m = /"msg":"listening"[^\n]*"url":"([^"]+)"/.exec(log);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      }
      clearTimeout(timer);
      reject(new Error(`gateway exited before listening:\n${log}`));
    })().catch(reject);
  });
  const stop = async (signal: Deno.Signal = "SIGTERM") => {
    if (!status) {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
    }
    await exited;
    return status!;
  };
  return { url, process: child, stderr: () => log, stop, [Symbol.asyncDispose]: async () => void await stop() };
}

/** A chat request body for the simulated provider. */
export function chatBody(content: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: "sim-small", messages: [{ role: "user", content }], ...extra };
}

/** POSTs JSON and returns the response (body not read). */
export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}
