/**
 * What the recommendation rules learn from outside the cost ledger: the cache's lookups and embedding work
 * (`CacheObservations`, which the cache calls), the scaling state (`ScalingObservations`), and this process's CPU
 * and memory use (`ResourceSampler`).
 *
 * @module
 */
import process from "node:process";
import type { PriceTable } from "./prices.ts";
import type { LookupObservation } from "../cache/semantic_cache.ts";

/** One cache lookup, as the cache reports it (the cache owns the shape). */
export type { LookupObservation };

/** Embedding work done for an agent: priced by model tokens (remote embedders) and/or CPU time (local ones). */
export interface EmbeddingObservation {
  tenant: string;
  agent: string;
  /** The embedding model, priced through the price table (e.g. `text-embedding-3-small`). */
  model?: string;
  tokens?: number;
  /** CPU milliseconds a local embedder spent, priced at `cost.container.cpuCoreHourUsd`. */
  cpuMs?: number;
}

/** The interface the cache feeds; every method is cheap and never throws. */
export interface CacheObservations {
  lookup(observation: LookupObservation): void;
  embedding(observation: EmbeddingObservation): void;
}

/** Per-agent cache figures since the start of observation. */
export interface AgentCacheFigures {
  tenant: string;
  agent: string;
  lookups: number;
  hits: number;
  nearMisses: number;
  /** The lowest and highest similarity among near-misses. */
  nearMissMin?: number;
  nearMissMax?: number;
  threshold?: number;
  embeddings: number;
  embeddingCostUsd: number;
}

const MAX_AGENTS = 5_000;

/** Collects cache observations per tenant and agent (bounded number of agents). */
export class CacheObservationLog implements CacheObservations {
  #agents = new Map<string, AgentCacheFigures>();
  #band: number;
  #prices: PriceTable;
  #cpuCoreHourUsd: number;

  constructor(options: { nearMissBand: number; prices: PriceTable; cpuCoreHourUsd: number }) {
    this.#band = options.nearMissBand;
    this.#prices = options.prices;
    this.#cpuCoreHourUsd = options.cpuCoreHourUsd;
  }

  lookup(o: LookupObservation): void {
    const a = this.#agent(o.tenant, o.agent);
    if (!a) return;
    a.lookups++;
    a.threshold = o.threshold;
    if (o.outcome !== "miss") {
      a.hits++;
      return;
    }
    const s = o.similarity;
    if (s !== undefined && Number.isFinite(s) && s < o.threshold && s >= o.threshold - this.#band) {
      a.nearMisses++;
      a.nearMissMin = Math.min(a.nearMissMin ?? s, s);
      a.nearMissMax = Math.max(a.nearMissMax ?? s, s);
    }
  }

  embedding(o: EmbeddingObservation): void {
    const a = this.#agent(o.tenant, o.agent);
    if (!a) return;
    a.embeddings++;
    if (o.model && o.tokens) a.embeddingCostUsd += this.#prices.price(o.model, { input: o.tokens, output: 0 }).costUsd;
    if (o.cpuMs) a.embeddingCostUsd += (o.cpuMs / 3_600_000) * this.#cpuCoreHourUsd;
  }

  /** A copy of the figures, optionally of one tenant only. */
  figures(tenant?: string): AgentCacheFigures[] {
    return [...this.#agents.values()].filter((a) => tenant === undefined || a.tenant === tenant)
      .map((a) => ({ ...a }));
  }

  #agent(tenant: string, agent: string): AgentCacheFigures | undefined {
    const key = `${tenant}/${agent}`;
    let a = this.#agents.get(key);
    if (!a) {
      if (this.#agents.size >= MAX_AGENTS) return undefined;
      this.#agents.set(
        key,
        a = { tenant, agent, lookups: 0, hits: 0, nearMisses: 0, embeddings: 0, embeddingCostUsd: 0 },
      );
    }
    return a;
  }
}

/** Where the replica count comes from (the scaling metrics, when a teammate's source is wired). */
export interface ScalingObservations {
  /** Replicas running now, if known. */
  replicas(): number | undefined;
}

/** CPU and memory use of this process. */
export interface ResourceFigures {
  samples: number;
  /** 95th percentile of CPU use between samples, in cores. */
  cpuP95Cores: number;
  /** Highest resident set size seen, in bytes. */
  peakRssBytes: number;
}

const MAX_SAMPLES = 2_000;

/** Samples this process's CPU (process.cpuUsage) and resident memory (Deno.memoryUsage) on a timer. */
export class ResourceSampler {
  #cpu: number[] = [];
  #peakRss = 0;
  #last = { cpuMicros: 0, wallMs: 0 };
  #timer: ReturnType<typeof setInterval>;

  constructor(sampleMs: number) {
    this.#mark();
    this.#peakRss = Deno.memoryUsage().rss;
    this.#timer = setInterval(() => this.sample(), sampleMs);
    Deno.unrefTimer(this.#timer);
  }

  /** Takes one sample now. */
  sample(): void {
    const { cpuMicros, wallMs } = this.#last;
    this.#mark();
    const wall = this.#last.wallMs - wallMs;
    if (wall > 0) {
      this.#cpu.push((this.#last.cpuMicros - cpuMicros) / 1000 / wall);
      if (this.#cpu.length > MAX_SAMPLES) this.#cpu.shift();
    }
    this.#peakRss = Math.max(this.#peakRss, Deno.memoryUsage().rss);
  }

  /** The figures so far. */
  figures(): ResourceFigures {
    const sorted = [...this.#cpu].sort((a, b) => a - b);
    const p95 = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] : 0;
    return { samples: sorted.length, cpuP95Cores: p95, peakRssBytes: this.#peakRss };
  }

  /** Stops sampling. */
  close(): void {
    clearInterval(this.#timer);
  }

  #mark(): void {
    const u = process.cpuUsage();
    this.#last = { cpuMicros: u.user + u.system, wallMs: performance.now() };
  }
}
