/**
 * Hands native memory the process has freed back to the system: glibc keeps the freed pages of its arenas
 * resident until `malloc_trim` is called. Start-up frees a lot of it (the store snapshot's decoding, the HNSW
 * build, the embedding model's load in its worker thread), and much of it only when V8 collects the garbage that
 * held it (ArrayBuffer backing stores). So after the warm-up {@linkcode trimAfterCollections} trims once now and
 * once after each of the next few garbage collections. Measured at 100k cache entries (`bench/hnsw_100k.ts`):
 * 6–17 MB of resident memory. Linux with glibc only, through FFI; a no-op without `--allow-ffi` (which the service
 * has, for hnswlib) or elsewhere. One `malloc_trim` takes well under a millisecond here.
 *
 * @module
 */

let trim: (() => void) | null | undefined;
/** Held here: a registry nothing references is collected with its sentinels and never calls back. */
let watching: FinalizationRegistry<void> | undefined;

/** Calls glibc's `malloc_trim(0)`; false when it is not available here. */
export function releaseFreedNativeMemory(): boolean {
  trim ??= loadTrim();
  if (!trim) return false;
  trim();
  return true;
}

/**
 * Trims now and after each of the next `collections` garbage collections (noticed when a sentinel object is
 * finalized), so that memory freed by those collections goes back too.
 */
export function trimAfterCollections(collections = 8): void {
  if (!releaseFreedNativeMemory() || collections <= 0) return;
  let left = collections;
  const registry = new FinalizationRegistry<void>(() => {
    releaseFreedNativeMemory();
    if (--left > 0) arm();
    else if (watching === registry) watching = undefined;
  });
  const arm = () => registry.register({}, undefined);
  watching = registry;
  arm();
}

function loadTrim(): (() => void) | null {
  if (Deno.build.os !== "linux") return null;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return null;
    const libc = Deno.dlopen("libc.so.6", { malloc_trim: { parameters: ["usize"], result: "i32" } });
    return () => void libc.symbols.malloc_trim(0n);
  } catch {
    // Not glibc (musl, another libc name): nothing to trim with.
    return null;
  }
}
