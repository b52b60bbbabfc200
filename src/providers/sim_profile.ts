/**
 * Latency profiles of simulated deployments read from a calibration results file (`deno task calibrate`), so a
 * measured upstream can be replayed in simulation with the same time to first token, decode speed, jitter and
 * error rate.
 *
 * @module
 */
import { type SimModelConfig, simModelSchema } from "./config.ts";

/**
 * Reads the `simProfile` of one deployment from a calibration results file. `ref` is `"<file>#<deployment>"`; the
 * deployment defaults to `defaultDeployment` when the fragment is absent. Throws an error naming the file and what
 * to fix when the file or the deployment is missing.
 */
export function readSimProfile(ref: string, defaultDeployment: string): SimModelConfig {
  const hash = ref.lastIndexOf("#");
  const file = hash >= 0 ? ref.slice(0, hash) : ref;
  const deployment = hash >= 0 && hash < ref.length - 1 ? ref.slice(hash + 1) : defaultDeployment;
  let data: unknown;
  try {
    data = JSON.parse(Deno.readTextFileSync(file));
  } catch (err) {
    throw new Error(`simProfile: cannot read calibration file ${file}: ${(err as Error).message}`);
  }
  const entry = (data as { deployments?: Record<string, { simProfile?: unknown }> })?.deployments?.[deployment];
  if (!entry?.simProfile) {
    const known = Object.keys((data as { deployments?: object })?.deployments ?? {}).join(", ") || "none";
    throw new Error(
      `simProfile: ${file} has no simProfile for deployment "${deployment}" (deployments in it: ${known}); ` +
        `write "${file}#<deployment>"`,
    );
  }
  const parsed = simModelSchema.safeParse(entry.simProfile);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`simProfile: ${file}#${deployment}: ${issue.path.join(".")}: ${issue.message}`);
  }
  return parsed.data;
}
