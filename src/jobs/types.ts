/**
 * What a job is and the seam between the HTTP routes, the queue (Redis Stream or in-process) and the workers.
 *
 * @module
 */
import type { ChatCompletion, ChatRequest } from "../gateway/chat_schema.ts";
import type { CacheStatus } from "../gateway/stages.ts";

/** Where a job is in its life. Only `queued → running → succeeded|failed` happens; a reclaimed job runs again. */
export type JobStatus = "queued" | "running" | "succeeded" | "failed";

/** What a finished job produced. */
export interface JobResult {
  completion: ChatCompletion;
  cache: CacheStatus;
  cost_usd?: number;
}

/** Why a job failed, in the shape of the gateway's error bodies. */
export interface JobError {
  type: string;
  message: string;
  status: number;
}

/** A job as stored. */
export interface JobRecord {
  id: string;
  tenant: string;
  agentId: string;
  pool: string;
  status: JobStatus;
  request: ChatRequest;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** Times a worker started it (more than one when a worker died and the job was reclaimed). */
  attempts: number;
  /** The consumer that completed it. */
  worker?: string;
  result?: JobResult;
  error?: JobError;
}

/** A job to enqueue. */
export interface NewJob {
  tenant: string;
  agentId: string;
  pool: string;
  request: ChatRequest;
}

/** Backlog of one stream. */
export interface StreamBacklog {
  pool: string;
  stream: string;
  /** Unfinished jobs: waiting (lag) plus running (pending). */
  backlog: number;
  /** Delivered to a worker and not yet acknowledged. */
  pending: number;
  /** Not yet delivered to any worker. */
  lag: number;
}

/** The job queue the routes talk to. */
export interface JobQueue {
  /** Stores and enqueues a job; throws `OverloadedError` when the pool's backlog is full. */
  enqueue(job: NewJob): Promise<JobRecord>;
  /** A job by id, or undefined when unknown or expired. */
  get(id: string): Promise<JobRecord | undefined>;
  /** Backlog per stream. */
  backlog(): Promise<StreamBacklog[]>;
  close(): Promise<void>;
}

/** The public shape of a job (`GET /v1/jobs/{id}`). */
export function jobView(job: JobRecord): Record<string, unknown> {
  return {
    id: job.id,
    object: "job",
    status: job.status,
    pool: job.pool,
    agent_id: job.agentId,
    created_at: Math.floor(job.createdAt / 1000),
    started_at: job.startedAt !== undefined ? Math.floor(job.startedAt / 1000) : null,
    finished_at: job.finishedAt !== undefined ? Math.floor(job.finishedAt / 1000) : null,
    attempts: job.attempts,
    result: job.result ?? null,
    error: job.error ?? null,
  };
}

/** A new job id: unguessable, so ids themselves leak nothing across tenants. */
export function newJobId(): string {
  return `job_${crypto.randomUUID().replaceAll("-", "")}`;
}

/** Whether a string has the shape of a job id. */
export function isJobId(id: string): boolean {
  return /^job_[0-9a-f]{32}$/.test(id);
}
