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

/**
 * V8 flags of a gateway or worker process, in the `serve` and `worker` tasks and the image's entrypoint too. A young
 * generation of 8 MB semi-spaces (V8 lets it grow to 16 MB each) keeps scavenges short: at 200 req/s the default's
 * scavenges pause requests for 2–23 ms every ~1.75 s, and an 8 MB cap cut the gateway's added p99 from 12.5 to 4.3 ms
 * in a same-run A/B, with the embedder's speed unchanged (`bench/gateway_overhead.ts --compare-env`,
 * `bench/cache_compare.ts`; docs/BENCHMARKS.md). It also holds ~30 MB less after a cache warm-up.
 */
export const SERVICE_V8_FLAGS: readonly string[] = ["--v8-flags=--max-semi-space-size=8"];

/** Everything `deno run` gets before the entry module of a gateway or worker process. */
export const SERVICE_RUN_FLAGS: readonly string[] = [...SERVICE_V8_FLAGS, ...SERVICE_PERMISSIONS];
