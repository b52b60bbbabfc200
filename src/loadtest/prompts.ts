/**
 * The request mix: seeded draws of agent, model, streaming, and prompts that are fresh, exact repeats of an
 * earlier prompt, or paraphrases of one (same question, different wording), so a scenario controls how much of
 * its traffic the exact and the semantic cache could serve.
 *
 * @module
 */
import type { Mix } from "./scenario.ts";

/** A small seeded PRNG (mulberry32): the same seed gives the same run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws keys in proportion to their weights. */
export class WeightedChoice<T extends string = string> {
  #keys: T[];
  #cumulative: number[];

  constructor(weights: Record<T, number>) {
    this.#keys = [];
    this.#cumulative = [];
    let sum = 0;
    for (const [key, weight] of Object.entries(weights) as [T, number][]) {
      if (weight <= 0) continue;
      sum += weight;
      this.#keys.push(key);
      this.#cumulative.push(sum);
    }
    if (this.#keys.length === 0) throw new Error("a weighted choice needs at least one positive weight");
    this.#cumulative = this.#cumulative.map((c) => c / sum);
  }

  /** The key for a uniform draw `u` in [0, 1). */
  pick(u: number): T {
    for (let i = 0; i < this.#cumulative.length; i++) if (u < this.#cumulative[i]) return this.#keys[i];
    return this.#keys[this.#keys.length - 1];
  }
}

const SUBJECTS = [
  "vector databases",
  "the CAP theorem",
  "transformer attention",
  "Kubernetes autoscaling",
  "circuit breakers",
  "Redis streams",
  "HNSW graphs",
  "token budgets",
  "retrieval augmented generation",
  "rate limiting",
  "consistent hashing",
  "the Raft protocol",
  "prompt caching",
  "tail latency",
  "load shedding",
  "bloom filters",
];
const ASPECTS = ["trade-offs", "failure modes", "history", "main use cases", "performance", "alternatives"];
const AUDIENCES = ["a new engineer", "a product manager", "a researcher", "an SRE"];

/** A question as parts, so it can be asked again in other words. */
interface Question {
  subject: string;
  aspect: string;
  audience: string;
  id: string;
}

const FRESH = (q: Question) => `Summarise the ${q.aspect} of ${q.subject} for ${q.audience} (case ${q.id}).`;
const PARAPHRASES = [
  (q: Question) => `Give ${q.audience} a summary of the ${q.aspect} of ${q.subject} (case ${q.id}).`,
  (q: Question) => `For ${q.audience}, summarize ${q.subject}: its ${q.aspect} (case ${q.id}).`,
  (q: Question) => `Could you summarise the ${q.aspect} of ${q.subject} for ${q.audience}? (case ${q.id})`,
  (q: Question) => `Please summarise ${q.subject}'s ${q.aspect} for ${q.audience} (case ${q.id}).`,
];

/** What kind of prompt a draw produced. */
export type PromptKind = "fresh" | "repeat" | "paraphrase";

/**
 * Generates prompts: fresh questions, exact repeats and paraphrases drawn from a hot set of earlier ones. Each
 * fresh question carries a payload (the agent and model it was asked with) that its repeats and paraphrases
 * reuse, so they land in the same cache scope as the original, as a real agent asking again would.
 */
export class PromptGenerator<P = undefined> {
  #random: () => number;
  #repeatRate: number;
  #paraphraseRate: number;
  #hot: { q: Question; payload: P }[] = [];
  #hotSet: number;
  #next = 0;
  #prefix: string;

  constructor(options: { repeatRate: number; paraphraseRate: number; hotSet: number; seed: number; run?: string }) {
    this.#random = seededRandom(options.seed ^ 0x5bd1e995);
    this.#repeatRate = options.repeatRate;
    this.#paraphraseRate = options.paraphraseRate;
    this.#hotSet = options.hotSet;
    // A run tag keeps fresh prompts of two runs apart, so a second run against a warm cache still sees misses.
    this.#prefix = options.run ? `${options.run}-` : "";
  }

  /** The next prompt, its kind, and the payload of the question it asks (`fresh()` makes one for a new one). */
  next(fresh: () => P = () => undefined as P): { text: string; kind: PromptKind; payload: P } {
    const u = this.#random();
    if (this.#hot.length > 0 && u < this.#repeatRate + this.#paraphraseRate) {
      const { q, payload } = this.#hot[Math.floor(this.#random() * this.#hot.length)];
      if (u < this.#repeatRate) return { text: FRESH(q), kind: "repeat", payload };
      const rephrase = PARAPHRASES[Math.floor(this.#random() * PARAPHRASES.length)];
      return { text: rephrase(q), kind: "paraphrase", payload };
    }
    const q: Question = {
      subject: SUBJECTS[Math.floor(this.#random() * SUBJECTS.length)],
      aspect: ASPECTS[Math.floor(this.#random() * ASPECTS.length)],
      audience: AUDIENCES[Math.floor(this.#random() * AUDIENCES.length)],
      id: `${this.#prefix}${this.#next++}`,
    };
    const payload = fresh();
    if (this.#hot.length < this.#hotSet) this.#hot.push({ q, payload });
    else this.#hot[Math.floor(this.#random() * this.#hotSet)] = { q, payload };
    return { text: FRESH(q), kind: "fresh", payload };
  }
}

/** One planned chat request. */
export interface PlannedRequest {
  agent: string;
  model: string;
  stream: boolean;
  promptKind: PromptKind;
  body: string;
}

/** Draws whole requests from a mix. */
export class RequestMix {
  #random: () => number;
  #agents: WeightedChoice;
  #models: WeightedChoice;
  #prompts: PromptGenerator<{ agent: string; model: string }>;
  #mix: Mix;

  constructor(mix: Mix, seed: number, run?: string) {
    this.#mix = mix;
    this.#random = seededRandom(seed);
    this.#agents = new WeightedChoice(mix.agents);
    this.#models = new WeightedChoice(mix.models);
    this.#prompts = new PromptGenerator({ ...mix.prompts, seed, run });
  }

  /** The next request. */
  next(): PlannedRequest {
    const prompt = this.#prompts.next(() => ({
      agent: this.#agents.pick(this.#random()),
      model: this.#models.pick(this.#random()),
    }));
    const { agent, model } = prompt.payload;
    const stream = this.#random() < this.#mix.streamRate;
    const messages = this.#mix.prompts.system
      ? [{ role: "system", content: this.#mix.prompts.system }, { role: "user", content: prompt.text }]
      : [{ role: "user", content: prompt.text }];
    const body: Record<string, unknown> = { model, messages };
    if (stream) body.stream = true;
    if (this.#mix.maxTokens !== undefined) body.max_tokens = this.#mix.maxTokens;
    return { agent, model, stream, promptKind: prompt.kind, body: JSON.stringify(body) };
  }
}
