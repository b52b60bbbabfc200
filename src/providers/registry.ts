/**
 * Which provider answers which model. `sim-*` always goes to the simulated provider; a model named in
 * `providers.models` goes to its provider (optionally renamed); any other model goes to the `openai` upstream
 * when `OPENAI_API_KEY` is set, and is unknown (404) otherwise.
 *
 * @module
 */
import { NotFoundError } from "../errors.ts";
import { type DeploymentConfig, type ProvidersConfig, simModelSchema } from "./config.ts";
import { OpenAiCompatibleProvider } from "./openai_compatible.ts";
import { fingerprint, SimulatedProvider } from "./simulated.ts";
import { readSimProfile } from "./sim_profile.ts";
import type { Provider } from "./types.ts";

/** Where one request goes. */
export interface Route {
  provider: Provider;
  /** The model name sent upstream. */
  upstreamModel: string;
}

/** Resolves model names to providers. */
export class ProviderRegistry {
  readonly sim: SimulatedProvider;
  #providers = new Map<string, Provider>();
  #config: ProvidersConfig;
  #routedModels: string[];

  /** `routedModels` are the model names the router serves from deployments (listed by `/v1/models`). */
  constructor(config: ProvidersConfig, options: { routedModels?: string[] } = {}) {
    this.#config = config;
    this.#routedModels = options.routedModels ?? [];
    this.sim = new SimulatedProvider(config.sim.models, { seed: config.sim.seed });
    this.#providers.set(this.sim.name, this.sim);
    if (config.openai.apiKey) this.#providers.set("openai", new OpenAiCompatibleProvider("openai", config.openai));
    for (const [name, upstream] of Object.entries(config.upstreams)) {
      this.#providers.set(name, new OpenAiCompatibleProvider(name, upstream));
    }
    for (const [name, deployment] of Object.entries(config.deployments ?? {})) {
      this.#providers.set(name, deploymentProvider(name, deployment, config.sim.seed));
    }
    for (const [model, route] of Object.entries(config.models)) {
      if (!this.#providers.has(route.provider)) {
        throw new Error(
          `providers.models.${model}: provider "${route.provider}" is not configured (known: ${
            [...this.#providers.keys()].join(", ")
          })`,
        );
      }
    }
  }

  /** The route of a model; throws a 404 {@linkcode NotFoundError} for a model nothing serves. */
  resolve(model: string): Route {
    const configured = this.#config.models[model];
    if (configured) {
      return { provider: this.#providers.get(configured.provider)!, upstreamModel: configured.upstreamModel ?? model };
    }
    if (this.sim.serves(model)) return { provider: this.sim, upstreamModel: model };
    const fallback = this.#providers.get("openai");
    if (fallback) return { provider: fallback, upstreamModel: model };
    throw new NotFoundError(
      `the model '${model}' does not exist or is not routed; use one of ${this.listModels().join(", ")} ` +
        "or set OPENAI_API_KEY for an upstream",
      { param: "model", code: "model_not_found" },
    );
  }

  /** Model names this gateway knows by name (upstream catch-all excluded). */
  listModels(): string[] {
    return [...new Set([...this.sim.models(), ...Object.keys(this.#config.models), ...this.#routedModels])].sort();
  }

  /** A provider by name. */
  get(name: string): Provider | undefined {
    return this.#providers.get(name);
  }

  /** All providers. */
  all(): Provider[] {
    return [...this.#providers.values()];
  }

  /** Releases pooled connections. */
  async close(): Promise<void> {
    for (const p of this.#providers.values()) await p.close?.();
  }
}

/** The provider of one deployment, named after it (breakers and metrics are keyed by provider name). */
function deploymentProvider(name: string, d: DeploymentConfig, seed: number): Provider {
  if (d.type === "sim") {
    const profile = typeof d.simProfile === "string"
      ? readSimProfile(d.simProfile, name)
      : d.simProfile ?? simModelSchema.parse({});
    // Each deployment draws its own jitter and failures, so two deployments do not fail in lock-step.
    const ownSeed = (seed ^ parseInt(fingerprint(name).slice(0, 8), 16)) >>> 0;
    return new SimulatedProvider({ [name]: profile }, {
      seed: ownSeed,
      name,
      fallbackModel: name,
      failureDomain: "provider",
    });
  }
  let apiKey = d.apiKey;
  if (d.apiKeyEnv) {
    apiKey = Deno.env.get(d.apiKeyEnv);
    if (!apiKey) throw new Error(`providers.deployments.${name}: environment variable ${d.apiKeyEnv} is not set`);
  }
  return new OpenAiCompatibleProvider(name, {
    baseUrl: d.baseUrl ?? "https://api.openai.com/v1",
    apiKey,
    timeoutMs: d.timeoutMs,
    poolMaxIdlePerHost: 64,
    poolIdleTimeoutMs: 30_000,
  });
}
