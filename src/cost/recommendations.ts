/**
 * The recommendation rules: each turns measurements (a {@linkcode CostProfile}, live or recorded) into advice with
 * an estimated monthly saving and the evidence it rests on. Observed figures are extrapolated to a 30-day month at
 * the observed rate: `monthly = observed × 2,592,000 s / observedSeconds`. The rules and formulas are in
 * docs/COST.md; every recommendation has a stable id so a dashboard can track it.
 *
 * @module
 */
import type { CostConfig, Price } from "./config.ts";
import type { Totals } from "./ledger.ts";
import type { AgentCacheFigures, ResourceFigures } from "./observations.ts";
import type { PriceTable } from "./prices.ts";

/** Seconds in the 30-day month savings are extrapolated to. */
export const MONTH_SECONDS = 30 * 86_400;
/** Hours in that month. */
export const MONTH_HOURS = 720;
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/** One row of the cost ledger in a profile. */
export interface ProfileRow extends Totals {
  tenant: string;
  agent: string;
  model: string;
}

/** Everything the rules look at: a snapshot of the measurements, recordable as JSON and replayable offline. */
export interface CostProfile {
  version: 1;
  /** The span of time the figures cover, in seconds. */
  observedSeconds: number;
  rows: ProfileRow[];
  cache: AgentCacheFigures[];
  scaling?: {
    replicas: number;
    minReplicas: number;
    targetRpsPerReplica: number;
    /** Mean requests per second per replica over the observed span. */
    rpsPerReplica: number;
    /** Highest per-replica rate of any aggregation bucket (e.g. one minute). */
    peakRpsPerReplica: number;
  };
  container?: {
    cpuRequestCores: number;
    memoryRequestBytes: number;
    cpuCoreHourUsd: number;
    memoryGibHourUsd: number;
    replicas: number;
    observed: ResourceFigures;
  };
  /** Price overrides in force when the profile was recorded (so a replay prices the same). */
  prices?: Record<string, Price>;
}

/** One piece of advice. */
export interface Recommendation {
  id: string;
  title: string;
  detail: string;
  estimated_monthly_saving_usd: number;
  evidence: Record<string, unknown>;
}

/** The thresholds of the rules. */
export type RuleSettings = CostConfig["recommendations"];

/** Runs every rule over a profile; recommendations below the minimum saving are left out; largest saving first. */
export function recommend(profile: CostProfile, prices: PriceTable, rules: RuleSettings): Recommendation[] {
  const out = [
    ...modelDowngrades(profile, prices, rules),
    ...nearMisses(profile, rules),
    ...unprofitableCaches(profile, rules),
    ...idleReplicas(profile, rules),
    ...rightSizing(profile, rules),
  ].filter((r) => r.estimated_monthly_saving_usd >= rules.minMonthlySavingUsd && r.estimated_monthly_saving_usd > 0);
  return out.sort((a, b) =>
    b.estimated_monthly_saving_usd - a.estimated_monthly_saving_usd || a.id.localeCompare(b.id)
  );
}

/** Observed amount → amount per 30-day month at the same rate. */
export function perMonth(amount: number, observedSeconds: number): number {
  return observedSeconds > 0 ? amount * MONTH_SECONDS / observedSeconds : 0;
}

function round(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}

/**
 * (a) An agent sending short prompts that get short answers to an expensive model: the same tokens on the cheaper
 * model of `downgrades` would cost `in × Δinput + out × Δoutput` per million tokens less.
 */
function modelDowngrades(profile: CostProfile, prices: PriceTable, rules: RuleSettings): Recommendation[] {
  const out: Recommendation[] = [];
  for (const row of profile.rows) {
    const cheaper = Object.hasOwn(rules.downgrades, row.model) ? rules.downgrades[row.model] : undefined;
    if (!cheaper || row.upstream_requests < rules.minRequests) continue;
    const avgIn = row.input_tokens / row.upstream_requests;
    const avgOut = row.output_tokens / row.upstream_requests;
    if (avgIn > rules.shortPromptTokens || avgOut > rules.shortAnswerTokens) continue;
    const target = prices.perMTok(cheaper);
    if (!target) continue;
    const alternative = (row.input_tokens * target.inputPerMTok + row.output_tokens * target.outputPerMTok) / 1e6;
    const saved = row.cost_usd - alternative;
    if (saved <= 0) continue;
    const monthly = perMonth(saved, profile.observedSeconds);
    out.push({
      id: `model-downgrade:${row.tenant}/${row.agent}:${row.model}`,
      title: `Move agent '${row.agent}' from ${row.model} to ${cheaper}`,
      detail: `Agent '${row.agent}' (tenant ${row.tenant}) sends short prompts (avg ${avgIn.toFixed(0)} tokens) ` +
        `that get short answers (avg ${avgOut.toFixed(0)} tokens) to ${row.model}. The same traffic on ${cheaper} ` +
        `would have cost $${alternative.toFixed(6)} instead of $${row.cost_usd.toFixed(6)}; check answer quality ` +
        `on a sample first.`,
      estimated_monthly_saving_usd: round(monthly),
      evidence: {
        tenant: row.tenant,
        agent: row.agent,
        model: row.model,
        cheaper_model: cheaper,
        upstream_requests: row.upstream_requests,
        avg_input_tokens: avgIn,
        avg_output_tokens: avgOut,
        observed_cost_usd: row.cost_usd,
        cost_on_cheaper_model_usd: alternative,
        cheaper_price_per_mtok: target,
        observed_seconds: profile.observedSeconds,
      },
    });
  }
  return out;
}

/** Per agent: upstream cost and requests over all its models. */
function agentSpend(
  profile: CostProfile,
): Map<string, { cost: number; upstream: number; savedCache: number; cacheHits: number }> {
  const out = new Map<string, { cost: number; upstream: number; savedCache: number; cacheHits: number }>();
  for (const row of profile.rows) {
    const key = `${row.tenant}/${row.agent}`;
    const acc = out.get(key) ?? { cost: 0, upstream: 0, savedCache: 0, cacheHits: 0 };
    acc.cost += row.cost_usd;
    acc.upstream += row.upstream_requests;
    acc.savedCache += row.saved_cache_usd;
    acc.cacheHits += row.cache_hits;
    out.set(key, acc);
  }
  return out;
}

/**
 * (b) Many lookups that missed just under the similarity threshold: each near-miss paid a full upstream call. The
 * saving is an upper bound, `nearMisses × average upstream cost of the agent`, if all of them became hits.
 */
function nearMisses(profile: CostProfile, rules: RuleSettings): Recommendation[] {
  const spend = agentSpend(profile);
  const out: Recommendation[] = [];
  for (const a of profile.cache) {
    if (a.nearMisses < rules.minNearMisses || a.lookups === 0) continue;
    const ratio = a.nearMisses / a.lookups;
    if (ratio < rules.nearMissRatio) continue;
    const s = spend.get(`${a.tenant}/${a.agent}`);
    if (!s || s.upstream === 0) continue;
    const avgCost = s.cost / s.upstream;
    const monthly = perMonth(a.nearMisses * avgCost, profile.observedSeconds);
    const suggested = a.nearMissMin !== undefined ? Math.floor(a.nearMissMin * 100) / 100 : undefined;
    out.push({
      id: `cache-near-miss:${a.tenant}/${a.agent}`,
      title: `Review the similarity threshold of agent '${a.agent}'`,
      detail: `${a.nearMisses} of ${a.lookups} cache lookups (${(ratio * 100).toFixed(1)}%) of agent '${a.agent}' ` +
        `missed within ${rules.nearMissBand} below its threshold ${a.threshold ?? "?"}` +
        (suggested !== undefined ? ` (closest ${a.nearMissMin!.toFixed(3)}–${a.nearMissMax!.toFixed(3)})` : "") +
        `. If verification confirms they are paraphrases, a per-agent threshold of ` +
        `${suggested ?? "a little lower"} (cache.agents.${a.agent}.similarityThreshold) turns them into hits; ` +
        `the saving is an upper bound.`,
      estimated_monthly_saving_usd: round(monthly),
      evidence: {
        tenant: a.tenant,
        agent: a.agent,
        lookups: a.lookups,
        near_misses: a.nearMisses,
        near_miss_ratio: ratio,
        threshold: a.threshold,
        near_miss_similarity_min: a.nearMissMin,
        near_miss_similarity_max: a.nearMissMax,
        avg_upstream_cost_usd: avgCost,
        observed_seconds: profile.observedSeconds,
      },
    });
  }
  return out;
}

/** (c) The cache of an agent costs more in embedding than its hits save: `embedding cost − saved by hits`. */
function unprofitableCaches(profile: CostProfile, rules: RuleSettings): Recommendation[] {
  const spend = agentSpend(profile);
  const out: Recommendation[] = [];
  for (const a of profile.cache) {
    if (a.embeddings < rules.minRequests) continue;
    const s = spend.get(`${a.tenant}/${a.agent}`);
    const saved = s?.savedCache ?? 0;
    const hits = s?.cacheHits ?? 0;
    const loss = a.embeddingCostUsd - saved;
    if (loss <= 0) continue;
    out.push({
      id: `cache-unprofitable:${a.tenant}/${a.agent}`,
      title: `Turn the semantic cache off (or exact-only) for agent '${a.agent}'`,
      detail: `Embedding ${a.embeddings} prompts of agent '${a.agent}' cost $${a.embeddingCostUsd.toFixed(6)} while ` +
        `its ${hits} cache hits saved $${saved.toFixed(6)}. Set ` +
        `cache.agents.${a.agent}.enabled=false or send x-amas-cache: exact-only.`,
      estimated_monthly_saving_usd: round(perMonth(loss, profile.observedSeconds)),
      evidence: {
        tenant: a.tenant,
        agent: a.agent,
        embeddings: a.embeddings,
        embedding_cost_usd: a.embeddingCostUsd,
        saved_by_cache_usd: saved,
        cache_hits: hits,
        observed_seconds: profile.observedSeconds,
      },
    });
  }
  return out;
}

/** Price of one replica for an hour, from its container requests. */
export function replicaHourUsd(container: NonNullable<CostProfile["container"]>): number {
  return container.cpuRequestCores * container.cpuCoreHourUsd +
    (container.memoryRequestBytes / GIB) * container.memoryGibHourUsd;
}

/**
 * (d) Replicas idle far below the scaling target at the minimum replica count: the peak load fits on
 * `needed = max(1, ceil(peak rps per replica × replicas / target))` replicas, so `minReplicas − needed` replicas
 * run 720 hours a month for nothing.
 */
function idleReplicas(profile: CostProfile, rules: RuleSettings): Recommendation[] {
  const s = profile.scaling;
  const c = profile.container;
  if (!s || !c || s.replicas > s.minReplicas) return [];
  if (s.rpsPerReplica >= rules.idleRatio * s.targetRpsPerReplica) return [];
  const needed = Math.max(1, Math.ceil((s.peakRpsPerReplica * s.replicas) / s.targetRpsPerReplica));
  if (needed >= s.minReplicas) return [];
  const replicaHours = (s.minReplicas - needed) * MONTH_HOURS;
  const hourly = replicaHourUsd(c);
  return [{
    id: "replicas-idle:min-replicas",
    title: `Lower minReplicas from ${s.minReplicas} to ${needed}`,
    detail: `Each of ${s.replicas} replicas serves ${s.rpsPerReplica.toFixed(2)} requests/s on average ` +
      `(peak ${s.peakRpsPerReplica.toFixed(2)}), far below the scaling target of ${s.targetRpsPerReplica}/s. ` +
      `${needed} replica(s) carry the peak; KEDA still adds replicas when load rises. Saves ${replicaHours} ` +
      `replica-hours a month` + (needed < 2 ? "; one replica gives up redundancy during node drains." : "."),
    estimated_monthly_saving_usd: round(replicaHours * hourly),
    evidence: { ...s, recommended_min_replicas: needed, replica_hours_saved: replicaHours, replica_hour_usd: hourly },
  }];
}

/**
 * (e) Container requests far above observed use: request `peak × headroom` (rounded up to 50 millicores / 64 MiB)
 * instead, saving `(request − recommended) × price × 720 h × replicas`.
 */
function rightSizing(profile: CostProfile, rules: RuleSettings): Recommendation[] {
  const c = profile.container;
  if (!c || c.observed.samples < 3) return [];
  const out: Recommendation[] = [];
  const cpuUse = c.observed.cpuP95Cores;
  if (cpuUse < rules.rightSizeRatio * c.cpuRequestCores) {
    const recommended = Math.max(0.05, Math.ceil(cpuUse * rules.headroom / 0.05) * 0.05);
    if (recommended < c.cpuRequestCores) {
      const saving = (c.cpuRequestCores - recommended) * c.cpuCoreHourUsd * MONTH_HOURS * c.replicas;
      out.push({
        id: "right-size:cpu",
        title: `Lower the CPU request from ${millicores(c.cpuRequestCores)} to ${millicores(recommended)}`,
        detail: `The gateway used ${millicores(cpuUse)} of CPU at the 95th percentile over ${c.observed.samples} ` +
          `samples, against a request of ${millicores(c.cpuRequestCores)}; ${millicores(recommended)} keeps ` +
          `${rules.headroom}× headroom.`,
        estimated_monthly_saving_usd: round(saving),
        evidence: {
          cpu_request_cores: c.cpuRequestCores,
          cpu_p95_cores: cpuUse,
          recommended_cores: recommended,
          samples: c.observed.samples,
          replicas: c.replicas,
        },
      });
    }
  }
  const mem = c.observed.peakRssBytes;
  if (mem < rules.rightSizeRatio * c.memoryRequestBytes) {
    const recommended = Math.ceil(mem * rules.headroom / (64 * MIB)) * 64 * MIB;
    if (recommended < c.memoryRequestBytes) {
      const saving = ((c.memoryRequestBytes - recommended) / GIB) * c.memoryGibHourUsd * MONTH_HOURS * c.replicas;
      out.push({
        id: "right-size:memory",
        title: `Lower the memory request from ${mib(c.memoryRequestBytes)} to ${mib(recommended)}`,
        detail: `The gateway's resident memory peaked at ${mib(mem)} against a request of ` +
          `${mib(c.memoryRequestBytes)}; ${mib(recommended)} keeps ${rules.headroom}× headroom. A semantic cache ` +
          `that grows needs more: recheck after a full day of traffic.`,
        estimated_monthly_saving_usd: round(saving),
        evidence: {
          memory_request_bytes: c.memoryRequestBytes,
          peak_rss_bytes: mem,
          recommended_bytes: recommended,
          replicas: c.replicas,
        },
      });
    }
  }
  return out;
}

function millicores(cores: number): string {
  return `${Math.round(cores * 1000)}m`;
}

function mib(bytes: number): string {
  return `${Math.round(bytes / MIB)}Mi`;
}
