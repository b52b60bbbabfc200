/**
 * Runs one job through the gateway's own chat path (`ChatService.handle`): the same router, rate limits, budget,
 * cache, single-flight, resilience policies and cost accounting as `POST /v1/chat/completions`. Nothing of the
 * pipeline is duplicated here; a job is a chat call whose answer is stored instead of sent.
 *
 * @module
 */
import type { ChatService } from "../gateway/chat_service.ts";
import type { ChatCall } from "../gateway/stages.ts";
import { Timing } from "../gateway/timing.ts";
import { toGatewayError } from "../http/errors.ts";
import type { JobError, JobRecord, JobResult } from "./types.ts";

/** How a job ended. */
export type JobOutcome = { ok: true; result: JobResult } | { ok: false; error: JobError };

/** Runs jobs through a `ChatService`. */
export class JobRunner {
  #service: ChatService;
  #timeoutMs: number;

  constructor(service: ChatService, options: { timeoutMs: number }) {
    this.#service = service;
    this.#timeoutMs = options.timeoutMs;
  }

  /** Runs a job to its outcome; never throws (failures are outcomes). */
  async run(job: JobRecord, signal?: AbortSignal): Promise<JobOutcome> {
    const signals = [AbortSignal.timeout(this.#timeoutMs)];
    if (signal) signals.push(signal);
    const call: ChatCall = {
      // Jobs answer with the whole completion; a stream has no reader here.
      request: { ...job.request, stream: false, stream_options: undefined },
      tenant: job.tenant,
      agentId: job.agentId,
      cacheMode: "default",
      requestId: job.id,
      signal: AbortSignal.any(signals),
      timing: new Timing(),
    };
    try {
      const outcome = await this.#service.handle(call);
      if (!outcome.completion) throw new Error("the chat service answered a job with a stream");
      const cost = await outcome.cost;
      return { ok: true, result: { completion: outcome.completion, cache: outcome.cache, cost_usd: cost?.costUsd } };
    } catch (err) {
      const e = toGatewayError(err);
      return { ok: false, error: { type: e.type, message: e.message, status: e.status } };
    }
  }
}
