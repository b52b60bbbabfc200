/**
 * The routing policies. Each orders the deployments that are ready to take a call (breaker closed, not saturated,
 * admitted by slow start), best first; the router appends the others as fallbacks. A decision is a few
 * multiplications and a sort of a handful of items: well under 10 µs (bench/routing_bench.ts).
 *
 * @module
 */
import type { ChatRequest } from "../gateway/chat_schema.ts";
import { messageText } from "../gateway/chat_schema.ts";
import type { ModelRoutingConfig, RoutingPolicyName } from "./config.ts";
import type { Candidate } from "./deployment.ts";
import type { CallKind } from "./latency.ts";

/** What a policy may look at for one decision. */
export interface PolicyContext {
  /** Monotonic time of the decision, ms. */
  now: number;
  random: () => number;
  request: ChatRequest;
  model: ModelRoutingConfig;
  /** Which latency estimate applies: streams are judged by their first chunk, JSON calls by the whole answer. */
  kind: CallKind;
}

/** A routing policy. */
export interface RoutingPolicy {
  readonly name: RoutingPolicyName;
  /** Orders `ready` best first (may reorder the array it is given and return it). */
  order(ready: Candidate[], ctx: PolicyContext): Candidate[];
}

/**
 * Weighted: smooth weighted round robin (nginx), so a 3:1 split sends A,A,B,A rather than bursts; the rest follow
 * by weight. A weight of 0 makes a deployment a pure fallback.
 */
export const weighted: RoutingPolicy = {
  name: "weighted",
  order(ready) {
    return swrrFirst(ready);
  },
};

/**
 * Least-latency: power of two choices over a peak-EWMA latency times (calls in flight + 1), as Finagle and
 * Linkerd balance: two random deployments are compared and the cheaper one goes first, so load spreads without
 * herding onto one "best" deployment; the rest follow by the same cost.
 */
export const leastLatency: RoutingPolicy = {
  name: "least-latency",
  order(ready, ctx) {
    const n = ready.length;
    if (n < 2) return ready;
    for (const c of ready) c.score = c.deployment.stats.peakMs(ctx.now, ctx.kind) * (c.deployment.stats.inFlight + 1);
    let a = 0;
    let b = 1;
    if (n > 2) {
      a = Math.floor(ctx.random() * n);
      b = Math.floor(ctx.random() * (n - 1));
      if (b >= a) b++;
    }
    const first = ready[a].score <= ready[b].score ? a : b;
    const pick = ready[first];
    ready[first] = ready[0];
    ready[0] = pick;
    if (n > 2) sortTail(ready, byScore);
    return ready;
  },
};

/**
 * Cost-aware: the cheapest deployment whose observed latency (smooth EWMA) meets the model's `latencyTargetMs`
 * (for streams `streamLatencyTargetMs`, the time to the first chunk, when set);
 * when none meets it, the fastest. The price of a call is estimated from its prompt length and `max_tokens` (or
 * the model's `expectedCompletionTokens`); a deployment without prices counts as the most expensive, and one not
 * measured yet as meeting the target while no call to it is in flight (so it gets measured, one call at a time).
 */
export const costAware: RoutingPolicy = {
  name: "cost-aware",
  order(ready, ctx) {
    if (ready.length < 2) return ready;
    const promptTokens = estimatePromptTokens(ctx.request);
    const completionTokens = ctx.request.max_completion_tokens ?? ctx.request.max_tokens ??
      ctx.model.expectedCompletionTokens;
    const target = (ctx.kind === "stream" ? ctx.model.streamLatencyTargetMs : undefined) ?? ctx.model.latencyTargetMs ??
      Number.POSITIVE_INFINITY;
    for (const c of ready) {
      const latency = c.deployment.stats.smoothMs(ctx.now, ctx.kind);
      // Not measured yet: assume it meets the target, so the cheap ones get measured first, but one call at a
      // time, so a burst does not all land on an unknown (maybe slow) deployment.
      const stats = c.deployment.stats;
      c.meets = stats.measured(ctx.kind) ? latency <= target : stats.inFlight === 0;
      c.score = latency;
      const { inputPerMTok, outputPerMTok } = c.deployment.config;
      c.price = inputPerMTok === undefined && outputPerMTok === undefined
        ? Number.POSITIVE_INFINITY
        : ((inputPerMTok ?? 0) * promptTokens + (outputPerMTok ?? 0) * completionTokens) / 1e6;
    }
    return ready.sort(byCost);
  },
};

/**
 * Priority: the lowest `priority` value goes first (weighted round robin inside that tier); the other tiers are
 * the fallback chain in priority order.
 */
export const priority: RoutingPolicy = {
  name: "priority",
  order(ready) {
    if (ready.length < 2) return ready;
    ready.sort(byPriority);
    const top = ready[0].deployment.config.priority;
    let tier = 1;
    while (tier < ready.length && ready[tier].deployment.config.priority === top) tier++;
    if (tier === 1) return ready;
    const head = swrrFirst(ready.slice(0, tier));
    for (let i = 0; i < tier; i++) ready[i] = head[i];
    return ready;
  },
};

/** The policies by name. */
export const POLICIES: Record<RoutingPolicyName, RoutingPolicy> = {
  "weighted": weighted,
  "least-latency": leastLatency,
  "cost-aware": costAware,
  "priority": priority,
};

/** About four characters a token, plus framing per message: close enough to rank prices. */
export function estimatePromptTokens(request: ChatRequest): number {
  let chars = 0;
  for (const m of request.messages) chars += typeof m.content === "string" ? m.content.length : messageText(m).length;
  return Math.ceil(chars / 4) + 3 * request.messages.length;
}

/** Smooth weighted round robin: picks the first (and advances the running weights), the rest by weight. */
function swrrFirst(ready: Candidate[]): Candidate[] {
  const n = ready.length;
  if (n < 2) return ready;
  let total = 0;
  let best = -1;
  for (let i = 0; i < n; i++) {
    const c = ready[i];
    const w = c.deployment.config.weight;
    if (w <= 0) continue;
    c.current += w;
    total += w;
    if (best < 0 || c.current > ready[best].current) best = i;
  }
  if (best < 0) return ready;
  const pick = ready[best];
  pick.current -= total;
  ready[best] = ready[0];
  ready[0] = pick;
  sortTail(ready, byWeight);
  return ready;
}

/** Sorts everything after the first element in place (insertion sort: the lists are a handful long). */
function sortTail(items: Candidate[], compare: (a: Candidate, b: Candidate) => number): void {
  for (let i = 2; i < items.length; i++) {
    const item = items[i];
    let j = i - 1;
    while (j >= 1 && compare(items[j], item) > 0) {
      items[j + 1] = items[j];
      j--;
    }
    items[j + 1] = item;
  }
}

function byScore(a: Candidate, b: Candidate): number {
  return a.score - b.score;
}

function byWeight(a: Candidate, b: Candidate): number {
  return b.deployment.config.weight - a.deployment.config.weight;
}

function byPriority(a: Candidate, b: Candidate): number {
  return a.deployment.config.priority - b.deployment.config.priority ||
    b.deployment.config.weight - a.deployment.config.weight;
}

/** Meeting the target first, cheapest first among those (then faster); the others fastest first. */
function byCost(a: Candidate, b: Candidate): number {
  if (a.meets !== b.meets) return a.meets ? -1 : 1;
  if (a.meets && a.price !== b.price) return a.price < b.price ? -1 : 1;
  return a.score - b.score;
}
