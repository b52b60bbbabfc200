/**
 * The default, offline embedder: Universal Sentence Encoder lite (512-d) running in a pool of Web Workers.
 * The model is CPU-heavy (~5-20 ms per text), so it never runs on the main thread: texts queue up and each idle
 * worker takes the whole queue (up to `maxBatch`) as one batch. Under load this micro-batching amortises the
 * per-call cost; at low load a lone text is dispatched at once.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { type Embedder, normalize } from "./types.ts";
import type { EmbedJob, EmbedReply } from "./use_lite_worker.ts";

/** Options for {@linkcode UseLiteEmbedder}. */
export interface UseLiteOptions {
  /** Worker threads (each holds its own model copy, ~100 MB). */
  workers?: number;
  /** Texts per batch at most. */
  maxBatch?: number;
  /** How long a batch waits for company before it is sent, in ms (0: at once when a worker is idle). */
  batchWindowMs?: number;
  /** Characters kept of each text (the model's cost grows with length). */
  maxChars?: number;
  /** A job taking longer than this fails (the worker is replaced), in ms. */
  timeoutMs?: number;
}

interface Pending {
  text: string;
  resolve(v: number[]): void;
  reject(e: unknown): void;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  busy: boolean;
  job?: { id: number; items: Pending[]; timer: ReturnType<typeof setTimeout> };
}

const WORKER_URL = new URL("./use_lite_worker.ts", import.meta.url).href;

/** USE-lite in a pool of Web Workers with micro-batching. */
export class UseLiteEmbedder implements Embedder {
  readonly name = "use-lite";
  readonly dimension = 512;
  #slots: Slot[] = [];
  #queue: Pending[] = [];
  #nextId = 1;
  #options: Required<UseLiteOptions>;
  #scheduled = false;
  #closed = false;

  constructor(options: UseLiteOptions = {}) {
    this.#options = {
      workers: Math.max(1, options.workers ?? 1),
      maxBatch: options.maxBatch ?? 32,
      batchWindowMs: options.batchWindowMs ?? 0,
      maxChars: options.maxChars ?? 2000,
      timeoutMs: options.timeoutMs ?? 30_000,
    };
    for (let i = 0; i < this.#options.workers; i++) this.#slots.push(this.#spawn());
  }

  /** Resolves when every worker has loaded the model. */
  get ready(): Promise<void> {
    return Promise.all(this.#slots.map((s) => s.ready)).then(() => {});
  }

  /** Texts waiting for a worker. */
  get queued(): number {
    return this.#queue.length;
  }

  embed(texts: string[]): Promise<number[][]> {
    if (this.#closed) return Promise.reject(new Error("the embedder is closed"));
    const promises = texts.map((text) =>
      new Promise<number[]>((resolve, reject) => {
        this.#queue.push({ text: text.slice(0, this.#options.maxChars), resolve, reject });
      })
    );
    this.#schedule();
    return Promise.all(promises);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const err = new Error("the embedder is closed");
    for (const p of this.#queue.splice(0)) p.reject(err);
    for (const slot of this.#slots) {
      if (slot.job) {
        clearTimeout(slot.job.timer);
        for (const p of slot.job.items) p.reject(err);
      }
      slot.worker.terminate();
    }
    this.#slots = [];
    await Promise.resolve();
  }

  #spawn(): Slot {
    const worker = new Worker(WORKER_URL, { type: "module" });
    let markReady!: () => void;
    let fail!: (e: Error) => void;
    const ready = new Promise<void>((res, rej) => {
      markReady = res;
      fail = rej;
    });
    // A pool that never gets used must not leave an unhandled rejection behind.
    ready.catch(() => {});
    const slot: Slot = { worker, ready, busy: false };
    worker.onmessage = (event: MessageEvent<EmbedReply>) => {
      const msg = event.data;
      if ("ready" in msg) return markReady();
      if ("fatal" in msg) return fail(new Error(`use-lite model failed to load: ${msg.fatal}`));
      this.#finish(slot, msg);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      fail(new Error(`use-lite worker failed: ${event.message}`));
      this.#replace(slot, new Error(`use-lite worker failed: ${event.message}`));
    };
    return slot;
  }

  #replace(slot: Slot, err: Error): void {
    if (slot.job) {
      clearTimeout(slot.job.timer);
      for (const p of slot.job.items) p.reject(err);
      slot.job = undefined;
    }
    slot.worker.terminate();
    if (this.#closed) return;
    const index = this.#slots.indexOf(slot);
    if (index >= 0) this.#slots[index] = this.#spawn();
    this.#schedule();
  }

  #finish(slot: Slot, msg: Extract<EmbedReply, { id: number }>): void {
    const job = slot.job;
    if (!job || job.id !== msg.id) return;
    clearTimeout(job.timer);
    slot.job = undefined;
    slot.busy = false;
    if ("error" in msg) {
      const err = new Error(`use-lite embedding failed: ${msg.error}`);
      for (const p of job.items) p.reject(err);
    } else {
      const { vectors, dimension } = msg;
      // Resolve a batch one caller per task: each caller's continuation (index search, verification) then runs in
      // a task of its own, with timers and I/O in between, instead of a whole batch back to back on the event loop.
      // setImmediate is neither clamped like nested zero-delay timers (4 ms each) nor run ahead of timers like
      // MessageChannel messages.
      const resolveFrom = (i: number) => {
        job.items[i].resolve(normalize(vectors.subarray(i * dimension, (i + 1) * dimension)));
        if (i + 1 < job.items.length) setImmediate(() => resolveFrom(i + 1));
      };
      resolveFrom(0);
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#queue.length === 0) return;
    this.#scheduled = true;
    const run = () => {
      this.#scheduled = false;
      this.#dispatch();
    };
    if (this.#options.batchWindowMs > 0) setTimeout(run, this.#options.batchWindowMs);
    else queueMicrotask(run);
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) return;
      if (slot.busy) continue;
      const items = this.#queue.splice(0, this.#options.maxBatch);
      const id = this.#nextId++;
      slot.busy = true;
      const timer = setTimeout(
        () => this.#replace(slot, new Error(`use-lite embedding took over ${this.#options.timeoutMs} ms`)),
        this.#options.timeoutMs,
      );
      slot.job = { id, items, timer };
      slot.worker.postMessage({ id, texts: items.map((p) => p.text) } satisfies EmbedJob);
    }
  }
}
