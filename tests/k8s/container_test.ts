/**
 * The container image, without a Docker engine (none on this machine):
 *
 * 1. Static lint of the Dockerfile: official Deno image, `deno task setup` in a build stage with the native
 *    toolchain, a non-root numeric USER matching the pods' runAsUser, DENO_DIR baked, and a start command that
 *    cannot fetch or write (`--cached-only --frozen`, writes limited to the emptyDirs) with the serve task's flags.
 * 2. The image's start command, as the Dockerfile spells it, run the way the pod runs it: in a private mount and
 *    network namespace (`unshare -m -n`) with the root filesystem remounted read-only, a tmpfs on /tmp (the
 *    emptyDir), no network but loopback, and the environment of the rendered prod overlay (ConfigMap, Secret
 *    template, container env); each Deployment in a network namespace of its own, like a pod. Every probe of every Deployment is then requested on the container port it names,
 *    and must answer 200; a chat request with the Secret template's key must succeed; SIGTERM must exit 0.
 *    Needs root for `unshare` (CI and this machine run as root); skipped, and saying so, elsewhere.
 */
import { SERVICE_V8_FLAGS } from "../../src/setup/permissions.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { K8S_DIR, podSpecOf, renderOverlay } from "./kustomize.ts";
import { find, ofKind } from "./manifests.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const ROOT = join(K8S_DIR, "..");
const dockerfile = await Deno.readTextFile(join(ROOT, "Dockerfile"));

interface Stage {
  from: string;
  name?: string;
  instructions: { op: string; args: string }[];
}

/** Splits a Dockerfile into stages of instructions (line continuations joined, comments dropped). */
function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const lines = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, rest] = /^(\w+)\s+([\s\S]*)$/.exec(line)!;
    const upper = op.toUpperCase();
    if (upper === "FROM") {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest)!;
      stages.push({ from: m[1], name: m[2], instructions: [] });
    } else if (stages.length === 0 && upper === "ARG") {
      const [k, v] = rest.split("=");
      args[k] = v;
    } else {
      stages.at(-1)!.instructions.push({ op: upper, args: rest.replace(/\s+/g, " ") });
    }
  }
  return { args, stages };
}

const { args, stages } = parseDockerfile(dockerfile);
const runtime = stages.at(-1)!;
const build = stages.find((s) => s.name === "build")!;
const jsonArray = (op: string) => JSON.parse(runtime.instructions.find((i) => i.op === op)!.args) as string[];
const entrypoint = jsonArray("ENTRYPOINT");
const cmd = jsonArray("CMD");

Deno.test("dockerfile: official Deno image, native build in a build stage, non-root, no fetch at run time", async () => {
  assert.match(args.DENO_VERSION, /^2\.\d+\.\d+$/, "pin a denoland/deno 2.x tag");
  for (const s of stages) {
    assert.equal(s.from.replace("${DENO_VERSION}", args.DENO_VERSION), `denoland/deno:${args.DENO_VERSION}`);
  }
  assert.ok(build, "a stage named build");
  const buildRuns = build.instructions.filter((i) => i.op === "RUN").map((i) => i.args).join("\n");
  assert.match(buildRuns, /deno task setup/, "setup (deno install + the hnswlib-node addon) runs at build time");
  for (const tool of ["python3", "make", "g++"]) {
    assert.ok(buildRuns.includes(` ${tool} `), `${tool} in the build stage`);
  }
  assert.ok(
    !runtime.instructions.some((i) => i.op === "RUN" && /apt-get|npm|deno (install|task|cache)/.test(i.args)),
    "the runtime stage installs nothing",
  );
  assert.ok(runtime.instructions.some((i) => i.op === "COPY" && i.args.includes("--from=build")));

  const user = runtime.instructions.filter((i) => i.op === "USER").at(-1)?.args ?? "root";
  const [uid] = user.split(":");
  assert.match(uid, /^[1-9]\d*$/, "a numeric non-root USER (runAsNonRoot can only verify numbers)");
  const envOf = (s: Stage) => s.instructions.filter((i) => i.op === "ENV").map((i) => i.args).join(" ");
  const denoDir = /DENO_DIR=(\S+)/.exec(envOf(runtime))?.[1];
  assert.ok(denoDir && denoDir === /DENO_DIR=(\S+)/.exec(envOf(build))?.[1], "the same DENO_DIR baked in both stages");

  assert.equal(entrypoint[0], "deno");
  assert.equal(entrypoint[1], "run");
  assert.ok(entrypoint.includes("--cached-only") && entrypoint.includes("--frozen"), "no network, no lockfile write");
  assert.ok(!entrypoint.includes("task") && !cmd.includes("task"), "`deno task serve` would run setup (deno install)");
  const writes = entrypoint.find((a) => a.startsWith("--allow-write"));
  assert.equal(writes, "--allow-write=/tmp,/data", "writes only to the emptyDirs");
  // Every permission of `deno task serve` is granted (else the image would fail where the task works).
  const serve = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).tasks.serve.command as string;
  for (const flag of serve.split(" ").filter((a) => a.startsWith("--allow-"))) {
    assert.ok(entrypoint.some((a) => a === flag || a.startsWith(`${flag}=`)), `${flag} from the serve task`);
  }
  // …and the same V8 flags, as the tests and benchmarks that start a gateway use them.
  for (const flag of SERVICE_V8_FLAGS) {
    assert.ok(entrypoint.includes(flag), `${flag} in the entrypoint`);
    assert.ok(serve.split(" ").includes(flag), `${flag} in the serve task`);
  }

  // The pods run the image's user and entry modules that exist.
  const objects = await renderOverlay("prod");
  for (const d of ofKind(objects, "Deployment")) {
    const pod = podSpecOf(d) as Any;
    assert.equal(String(pod.securityContext.runAsUser), uid, `${d.metadata.name} runAsUser = the image's USER`);
    for (const c of pod.containers) {
      const module = (c.args ?? cmd)[0];
      await Deno.stat(join(ROOT, module));
    }
  }
  const ignore = await Deno.readTextFile(join(ROOT, ".dockerignore"));
  for (const p of ["node_modules", ".git"]) assert.match(ignore, new RegExp(`^${p.replace(".", "\\.")}$`, "m"));
});

async function runs(cmd: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output()).success;
  } catch {
    return false;
  }
}

/** Root, `unshare`, and the tools the namespace script uses (iproute2, curl, redis-cli). */
async function canUnshare(): Promise<boolean> {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) return false;
  for (const [cmd, args] of [["ip", ["-V"]], ["curl", ["--version"]], ["redis-cli", ["--version"]]] as const) {
    if (!await runs(cmd, [...args])) {
      console.log(`container test skipped: '${cmd}' is not installed`);
      return false;
    }
  }
  return await runs("unshare", ["-m", "-n", "true"]);
}

const unshareOk = await canUnshare();

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

Deno.test({
  name: "container: the image's start command serves every probe on a read-only root filesystem without network",
  ignore: !unshareOk,
}, async () => {
  const objects = await renderOverlay("prod");
  // prod has no Secret (created out of band); the dev overlay's template stands in for it.
  const secret = (find(await renderOverlay("dev"), "Secret", "amas-secrets") as Any).stringData as Record<
    string,
    string
  >;
  const apiKey = secret.AMAS_API_KEYS.split(",")[0].split("=")[1];
  const checks: { name: string; port: number; path: string }[] = [];
  const pods: string[] = [];
  let total = 0;
  const check = (c: { name: string; port: number; path: string }) => {
    total += 1;
    return `for i in $(seq 1 240); do curl -sf -o /dev/null http://127.0.0.1:${c.port}${c.path} && break; sleep 0.5; done; ` +
      `echo "CHECK ${c.name} ${c.path} $(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:${c.port}${c.path})"`;
  };
  const chat = (port: number) => {
    total += 1;
    return `echo "CHECK chat $(curl -s -o /dev/null -w '%{http_code}' -H 'authorization: Bearer ${apiKey}' ` +
      `-H 'content-type: application/json' -d '{"model":"sim-small","messages":[{"role":"user","content":"hi"}]}' ` +
      `http://127.0.0.1:${port}/v1/chat/completions)"`;
  };
  for (const d of ofKind(objects, "Deployment")) {
    const c = (podSpecOf(d) as Any).containers[0];
    const env: Record<string, string> = {};
    for (const from of c.envFrom) {
      if (from.configMapRef) Object.assign(env, (find(objects, "ConfigMap", from.configMapRef.name) as Any).data);
      if (from.secretRef) Object.assign(env, secret);
    }
    for (const e of c.env ?? []) env[e.name] = e.value ?? `${d.metadata.name}-pod`;
    // Stand-ins for what the cluster provides: the Redis Service, and /data (an emptyDir mount point this
    // machine's read-only root does not have; /tmp is the tmpfs).
    env.REDIS_URL = "redis://127.0.0.1:6390";
    env.AMAS_DATA_DIR = `/tmp/${d.metadata.name}-data`;
    env.AMAS_LOG_LEVEL = "warn";
    const portOf = (p: string | number) =>
      typeof p === "number" ? p : c.ports.find((x: Any) => x.name === p)!.containerPort as number;
    for (const kind of ["startupProbe", "livenessProbe", "readinessProbe"]) {
      const probe = c[kind]?.httpGet;
      if (probe) checks.push({ name: `${d.metadata.name} ${kind}`, port: portOf(probe.port), path: probe.path });
    }
    checks.push({ name: `${d.metadata.name} metrics port`, port: portOf("metrics"), path: "/metrics" });
    const argv = [...entrypoint, ...(c.args ?? cmd)].map((a, i) => (i === 0 ? '"$DENO"' : shellQuote(a))).join(" ");
    const envs = Object.entries(env).map(([k, v]) => `${k}=${shellQuote(v)}`).join(" ");
    // Each Deployment runs as a pod does: in a network namespace of its own (with a Redis of its own standing in for
    // the Service), all of them at once.
    pods.push([
      "set -u",
      "ip link set lo up",
      "redis-server --port 6390 --bind 127.0.0.1 --save '' --appendonly no --dir /tmp >/dev/null & rpid=$!",
      "for i in $(seq 1 100); do redis-cli -p 6390 ping >/dev/null 2>&1 && break; sleep 0.1; done",
      `env -i PATH="$PATH" HOME=/tmp DENO_DIR="$DENO_DIR" ${envs} ${argv} 2>/tmp/${d.metadata.name}.log & pid=$!`,
      ...checks.splice(0).map(check),
      ...(d.metadata.name === "amas-orchestrator" ? [chat(portOf("http"))] : []),
      `kill -TERM $pid; wait $pid; echo "EXIT ${d.metadata.name} $?"`,
      "kill $rpid",
      `tail -5 /tmp/${d.metadata.name}.log`,
    ].join("\n"));
  }
  // Not under /tmp: the namespace mounts a fresh tmpfs there.
  const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "amas-pods-" });
  const files = await Promise.all(pods.map(async (text, i) => {
    await Deno.writeTextFile(`${dir}/pod${i}.sh`, text);
    return `${dir}/pod${i}.sh`;
  }));
  // The checkout itself may live under /tmp (CI clones anywhere), which the pod's tmpfs would hide: keep a bind
  // mount of it outside /tmp, then put it back, read-only, on top of the tmpfs.
  const keep = `${dir}/checkout`;
  await Deno.mkdir(keep);
  const script = [
    "set -u",
    "ip link set lo up",
    `mount --bind ${shellQuote(ROOT)} ${shellQuote(keep)} || { echo 'RESULT bind failed'; exit 3; }`,
    "mount -o remount,bind,ro / || { echo 'RESULT remount failed'; exit 3; }",
    "mount -t tmpfs -o size=512m tmpfs /tmp",
    `mkdir -p ${shellQuote(ROOT)} 2>/dev/null; mount --bind ${shellQuote(keep)} ${shellQuote(ROOT)}`,
    `mount -o remount,bind,ro ${shellQuote(ROOT)} || { echo 'RESULT remount of the checkout failed'; exit 3; }`,
    `if touch ${shellQuote(join(ROOT, ".ro-probe"))} 2>/dev/null; then echo 'RESULT root-writable'; exit 4; fi`,
    "curl -s -m 2 -o /dev/null https://registry.npmjs.org/ && { echo 'RESULT network-reachable'; exit 5; }",
    ...files.map((f, i) => `unshare -n bash ${f} > /tmp/pod${i}.out 2>&1 &`),
    "wait",
    ...files.map((_, i) => `cat /tmp/pod${i}.out`),
  ].join("\n");
  const denoDir = Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache", "deno");
  const out = await new Deno.Command("unshare", {
    args: ["-m", "-n", "bash", "-c", script],
    cwd: ROOT,
    env: { DENO: Deno.execPath(), DENO_DIR: denoDir },
    stdout: "piped",
    stderr: "piped",
  }).output().finally(() => Deno.remove(dir, { recursive: true }));
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.ok(out.success, text);
  const results = [...text.matchAll(/^CHECK (.+) (\d{3})$/gm)].map((m) => ({ what: m[1], code: m[2] }));
  assert.equal(results.length, total, text);
  for (const r of results) assert.equal(r.code, "200", `${r.what}\n${text}`);
  const exits = [...text.matchAll(/^EXIT (\S+) (\d+)$/gm)];
  assert.equal(exits.length, pods.length, text);
  for (const [, name, code] of exits) assert.equal(code, "0", `SIGTERM must stop ${name} with status 0\n${text}`);
});
