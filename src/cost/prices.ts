/**
 * The price table: what a model's tokens cost in USD. Configured prices (`cost.prices`, which include the
 * simulated models) win; otherwise the bundled data of `@pydantic/genai-prices` decides (never fetched at run
 * time). A model no source prices costs 0 and is reported as unpriced, never as an error.
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

/** Resolves prices by model name. */
export class PriceTable {
  #overrides: Record<string, Price>;
  #byProvider: Record<string, Price>;
  #library = new Map<string, boolean>();

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
    const usage = {
      input_tokens: tokens.input,
      output_tokens: tokens.output,
      ...(tokens.cachedInput ? { cache_read_tokens: Math.min(tokens.cachedInput, tokens.input) } : {}),
    };
    const result = this.#library.get(model) === false ? null : libraryPrice(usage, model, provider);
    this.#library.set(model, result !== null);
    if (!result) return { costUsd: 0, source: "none" };
    return { costUsd: result, source: "library" };
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

/** The library's total price, with the provider when it knows it, else by model name alone. */
function libraryPrice(usage: Record<string, number>, model: string, provider?: string): number | null {
  try {
    const withProvider = provider ? calcPrice(usage, model, { providerId: provider }) : null;
    const result = withProvider ?? calcPrice(usage, model);
    return result ? result.total_price : null;
  } catch {
    // The library throws on usage shapes it rejects; an unpriceable call costs 0 rather than failing a request.
    return null;
  }
}
