/**
 * The permissions a gateway or worker process runs with, as `deno run` flags: the same set as the `serve` and
 * `worker` tasks in deno.json. Tests and benchmarks that start such a process use this list, so what they run is
 * what `deno task serve` runs.
 *
 * @module
 */

/**
 * `--allow-ffi` and `--allow-sys` are for the native hnswlib-node addon (without `--allow-sys` it fails with a
 * misleading "Could not find module root"); `--allow-write` for the snapshot directory.
 */
export const SERVICE_PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "--allow-ffi",
  "--allow-sys",
];
