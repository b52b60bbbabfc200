/**
 * Single-flight deduplication: identical in-flight calls (same request key) share one upstream call. A streamed
 * answer is buffered as it arrives and replayed to every participant (a late joiner gets the chunks so far, then
 * the live ones). The upstream call runs under a signal of its own that aborts only when every participant has
 * gone, so neither the leader's client nor a follower's disconnecting cancels it for the others.
 *
 * @module
 */
import type { ChatCompletionChunk } from "../gateway/chat_schema.ts";
import type { ChatCall, Deduplicator, UpstreamAnswer } from "../gateway/stages.ts";

/** The upstream call of a key; `signal` is the shared call's own, decoupled from any one client. */
export type Leader = (signal?: AbortSignal) => Promise<UpstreamAnswer>;

/** The chunks of one streamed answer, kept for every participant. */
class Broadcast {
  readonly chunks: ChatCompletionChunk[] = [];
  done = false;
  error: unknown = undefined;
  #waiters: (() => void)[] = [];

  push(chunk: ChatCompletionChunk): void {
    this.chunks.push(chunk);
    this.#wake();
  }

  end(error?: unknown): void {
    this.done = true;
    this.error = error;
    this.#wake();
  }

  /** Resolves when something new happened (a chunk, the end) or `signal` aborted. */
  changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.#waiters.push(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

/** What a flight resolved to: a whole answer, or a stream being broadcast. */
type Shared =
  | { kind: "completion"; answer: UpstreamAnswer }
  | { kind: "stream"; broadcast: Broadcast; answer: UpstreamAnswer & { kind: "stream" } };

interface Flight {
  controller: AbortController;
  participants: number;
  settled: boolean;
  shared: Promise<Shared>;
}

/** Options of {@linkcode SingleFlight}. */
export interface SingleFlightOptions {
  /** Called for every call that joined an existing flight. */
  onJoin?: () => void;
}

/** The in-process single-flight deduplicator. */
export class SingleFlight implements Deduplicator {
  #flights = new Map<string, Flight>();
  #onJoin?: () => void;

  constructor(options: SingleFlightOptions = {}) {
    this.#onJoin = options.onJoin;
  }

  /** Keys with an upstream call in flight. */
  get inFlight(): number {
    return this.#flights.size;
  }

  has(key: string): boolean {
    return this.#flights.has(key);
  }

  async run(key: string, call: ChatCall, leader: Leader): Promise<{ answer: UpstreamAnswer; shared: boolean }> {
    let flight = this.#flights.get(key);
    const shared = flight !== undefined;
    if (flight) this.#onJoin?.();
    else flight = this.#start(key, leader);
    flight.participants++;

    let released = false;
    const f = flight;
    const release = () => {
      if (released) return;
      released = true;
      call.signal.removeEventListener("abort", release);
      if (--f.participants === 0 && !f.settled) {
        // Nobody is left to receive the answer: stop paying for it.
        f.settled = true;
        if (this.#flights.get(key) === f) this.#flights.delete(key);
        f.controller.abort(new DOMException("every caller of this request went away", "AbortError"));
      }
    };
    call.signal.addEventListener("abort", release, { once: true });
    if (call.signal.aborted) release();

    let result: Shared;
    try {
      result = await raceAbort(f.shared, call.signal);
    } catch (err) {
      release();
      throw err;
    }
    if (result.kind === "completion") {
      release();
      return { answer: result.answer, shared };
    }
    return {
      answer: { ...result.answer, chunks: follow(result.broadcast, call.signal, release) },
      shared,
    };
  }

  #start(key: string, leader: Leader): Flight {
    const controller = new AbortController();
    const flight: Flight = { controller, participants: 0, settled: false, shared: undefined! };
    const forget = () => {
      flight.settled = true;
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    };
    flight.shared = leader(controller.signal).then((answer): Shared => {
      if (answer.kind === "completion") {
        forget();
        return { kind: "completion", answer };
      }
      const broadcast = new Broadcast();
      // The pump reads the upstream at its own pace, whoever is listening; the flight stays joinable until the
      // stream ends, so a late joiner still gets the whole answer.
      (async () => {
        try {
          for await (const chunk of answer.chunks) broadcast.push(chunk);
          broadcast.end();
        } catch (err) {
          broadcast.end(err);
        } finally {
          forget();
        }
      })();
      return { kind: "stream", broadcast, answer };
    }, (err) => {
      forget();
      throw err;
    });
    // Participants that left before the answer do not await it; its failure must not go unhandled.
    flight.shared.catch(() => {});
    this.#flights.set(key, flight);
    return flight;
  }
}

/** One participant's view of a broadcast stream: everything so far, then live chunks until the end. */
async function* follow(
  broadcast: Broadcast,
  signal: AbortSignal,
  release: () => void,
): AsyncGenerator<ChatCompletionChunk> {
  let i = 0;
  try {
    while (true) {
      if (i < broadcast.chunks.length) {
        yield broadcast.chunks[i++];
        continue;
      }
      if (broadcast.done) {
        if (broadcast.error !== undefined) throw broadcast.error;
        return;
      }
      if (signal.aborted) throw signal.reason;
      await broadcast.changed(signal);
    }
  } finally {
    release();
  }
}

/** Settles with `promise`, or rejects with the signal's reason as soon as it aborts. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
