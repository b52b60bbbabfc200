/**
 * Configuration of the response cache.
 *
 * @module
 */
import { z } from "zod";
import { booleanSetting, fraction } from "../config_fields.ts";

/** Per-agent cache settings; anything unset falls back to the section defaults. */
export const agentCacheSchema = z.object({
  enabled: booleanSetting.optional(),
  similarityThreshold: fraction.optional(),
  ttlSeconds: z.coerce.number().int().positive().optional(),
  maxTemperature: z.coerce.number().min(0).max(2).optional(),
});

/** The `cache` configuration section. */
export const cacheConfigSchema = z.object({
  enabled: booleanSetting.default(true),
  embedder: z.enum(["use-lite", "openai", "hash"]).default("use-lite"),
  similarityThreshold: fraction.default(0.85),
  ttlSeconds: z.coerce.number().int().positive().default(86_400),
  maxTemperature: z.coerce.number().min(0).max(2).default(1),
  agents: z.record(z.string().min(1), agentCacheSchema).default({}),
});

/** The validated `cache` section. */
export type CacheConfig = z.infer<typeof cacheConfigSchema>;
