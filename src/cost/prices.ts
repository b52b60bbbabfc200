/**
 * The price table: what a model's tokens cost in USD. Configured prices (`cost.prices`, which include the
 * simulated models) win; otherwise the bundled data of `@pydantic/genai-prices` decides (never fetched at run
 * time). A model no source prices costs 0 and is reported as unpriced, never as an error.
 *
 * The library matches a model against its whole catalogue on every call (~45 µs and ~40 KB of garbage per call,
 * measured), so each model's library price is resolved once into a rate card: when the library's price for it is
 * flat per token (no tiers, no time-of-day or dated prices, no per-request fee) and the card reproduces the
 * library's own answers on probe usages, later calls are priced by the card; otherwise every call goes to the
 * library as before.
 *
 * @module
 */
import { calcPrice } from "@pydantic/genai-prices";
import { DEFAULT_PRICES, type Price } from "./config.ts";

/** Tokens of one call, split the way providers bill them. */
export interface TokenCounts {
  input: number;
  output: number;
  /** Input tokens served from the provider's prompt cache (part of `input`, billed at a lower rate). */
  cachedInput?: number;
}

/** A priced call. */
export interface Priced {
  costUsd: number;
  /** Where the price came from; `none` means the model is unknown and the cost is 0. */
  source: "deployment" | "config" | "library" | "none";
}

/** A model's flat library price, USD per million tokens; `cacheRead` undefined: cached tokens are plain input. */
interface RateCard {
  input: number;
  output: number;
  cacheRead?: number;
}

/** The library's view of a model: flat rates, priced per call by the library, or unknown. */
type LibraryEntry = { kind: "card"; card: RateCard } | { kind: "library" } | { kind: "none" };

/** The price keys a rate card covers: the units of the usage the gateway reports to the library. */
const CARD_KEYS = new Set(["input_mtok", "output_mtok", "cache_read_mtok"]);
/** A fee per request applies whatever the usage: such models stay with the library. */
const PER_REQUEST_KEY = "requests_kcount";

/** Resolves prices by model name. */
export class PriceTable {
  #overrides: Record<string, Price>;
  #byProvider: Record<string, Price>;
  #library = new Map<string, LibraryEntry>();

  /**
   * `overrides` (by model) win over the defaults for the simulated models and over the library; `byProvider` (the
   * prices configured on routing deployments, by deployment name) win over everything for calls they answered.
   */
  constructor(overrides: Record<string, Price> = {}, byProvider: Record<string, Price> = {}) {
    this.#overrides = { ...DEFAULT_PRICES, ...overrides };
    this.#byProvider = byProvider;
  }

  /** The configured price of a model (an unconfigured `sim-*` model is priced like `sim-small`). */
  configured(model: string): Price | undefined {
    // Own properties only: a model may be called "constructor".
    const own = Object.hasOwn(this.#overrides, model) ? this.#overrides[model] : undefined;
    if (own) return own;
    if (model.startsWith("sim-")) return this.#overrides["sim-small"];
    return undefined;
  }

  /** The cost of `tokens` on `model`; `provider` helps the library pick the right vendor (e.g. `openai`). */
  price(model: string, tokens: TokenCounts, provider?: string): Priced {
    const deployment = provider !== undefined && Object.hasOwn(this.#byProvider, provider)
      ? this.#byProvider[provider]
      : undefined;
    if (deployment) {
      const usd = (tokens.input * deployment.inputPerMTok + tokens.output * deployment.outputPerMTok) / 1e6;
      return { costUsd: usd, source: "deployment" };
    }
    const own = this.configured(model);
    if (own) {
      return { costUsd: (tokens.input * own.inputPerMTok + tokens.output * own.outputPerMTok) / 1e6, source: "config" };
    }
    const key = provider === undefined ? model : `${provider}\u0000${model}`;
    let entry = this.#library.get(key);
    if (!entry) {
      entry = libraryEntry(model, provider);
      this.#library.set(key, entry);
    }
    if (entry.kind === "none") return { costUsd: 0, source: "none" };
    if (entry.kind === "card") return { costUsd: cardPrice(entry.card, tokens), source: "library" };
    const result = libraryPrice(libraryUsage(tokens), model, provider);
    if (result === null) return { costUsd: 0, source: "none" };
    return { costUsd: result, source: "library" };
  }

  /** Whether the library's price of a model is applied from a rate card (flat per token) rather than per call. */
  hasRateCard(model: string, provider?: string): boolean {
    this.price(model, { input: 0, output: 0 }, provider);
    return this.#library.get(provider === undefined ? model : `${provider}\u0000${model}`)?.kind === "card";
  }

  /** USD per million input and output tokens of a model, or undefined when no source prices it. */
  perMTok(model: string, provider?: string): Price | undefined {
    const own = this.configured(model);
    if (own) return own;
    const input = this.price(model, { input: 1e6, output: 0 }, provider);
    if (input.source === "none") return undefined;
    const output = this.price(model, { input: 0, output: 1e6 }, provider);
    return { inputPerMTok: input.costUsd, outputPerMTok: output.costUsd };
  }
}

/** The library's usage object for token counts. */
function libraryUsage(tokens: TokenCounts): Record<string, number> {
  return {
    input_tokens: tokens.input,
    output_tokens: tokens.output,
    ...(tokens.cachedInput ? { cache_read_tokens: Math.min(tokens.cachedInput, tokens.input) } : {}),
  };
}

/** The price of `tokens` on a rate card, the way the library splits them (cached tokens are part of input). */
function cardPrice(card: RateCard, tokens: TokenCounts): number {
  if (card.cacheRead === undefined || !tokens.cachedInput) {
    return (tokens.input * card.input + tokens.output * card.output) / 1e6;
  }
  const cached = Math.min(tokens.cachedInput, tokens.input);
  return ((tokens.input - cached) * card.input + cached * card.cacheRead + tokens.output * card.output) / 1e6;
}

/** Usages a rate card must price like the library before it is trusted. */
const PROBES: TokenCounts[] = [
  { input: 1_000_000, output: 0 },
  { input: 0, output: 1_000_000 },
  { input: 1234, output: 567 },
  { input: 1000, output: 100, cachedInput: 400 },
  { input: 300_000, output: 20_000, cachedInput: 250_000 },
];

/** Resolves a model once: a rate card when its library price is flat and the card agrees with the library. */
function libraryEntry(model: string, provider?: string): LibraryEntry {
  const found = libraryResult(libraryUsage({ input: 1000, output: 1000 }), model, provider);
  if (!found) return { kind: "none" };
  const prices = found.model_price as Record<string, unknown>;
  // Dated or time-of-day prices change with the clock: only the library knows which applies now.
  if (Array.isArray(found.model.prices)) return { kind: "library" };
  // Other keys price units the gateway never reports (audio, images, searches, cache writes), which cost 0 here.
  if (prices[PER_REQUEST_KEY] !== undefined) return { kind: "library" };
  for (const k of CARD_KEYS) if (prices[k] !== undefined && typeof prices[k] !== "number") return { kind: "library" };
  if (typeof prices.input_mtok !== "number" || typeof prices.output_mtok !== "number") return { kind: "library" };
  const card: RateCard = {
    input: prices.input_mtok,
    output: prices.output_mtok,
    ...(typeof prices.cache_read_mtok === "number" ? { cacheRead: prices.cache_read_mtok } : {}),
  };
  for (const probe of PROBES) {
    const expected = libraryPrice(libraryUsage(probe), model, provider);
    const got = cardPrice(card, probe);
    if (expected === null || Math.abs(got - expected) > 1e-12 * Math.max(1, Math.abs(expected))) {
      return { kind: "library" };
    }
  }
  return { kind: "card", card };
}

/** The library's calculation, with the provider when it knows it, else by model name alone. */
function libraryResult(usage: Record<string, number>, model: string, provider?: string) {
  try {
    const withProvider = provider ? calcPrice(usage, model, { providerId: provider }) : null;
    return withProvider ?? calcPrice(usage, model);
  } catch {
    // The library throws on usage shapes it rejects; an unpriceable call costs 0 rather than failing a request.
    return null;
  }
}

/** The library's total price, or null when it prices nothing for the model. */
function libraryPrice(usage: Record<string, number>, model: string, provider?: string): number | null {
  return libraryResult(usage, model, provider)?.total_price ?? null;
}
