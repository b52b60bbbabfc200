/**
 * Configuration of cost accounting.
 *
 * @module
 */
import { z } from "zod";

/** Price of one model in USD per million tokens. */
export const priceSchema = z.object({
  inputPerMTok: z.coerce.number().min(0),
  outputPerMTok: z.coerce.number().min(0),
});

/** The `cost` configuration section. */
export const costConfigSchema = z.object({
  prices: z.record(z.string().min(1), priceSchema).default({}).describe("overrides of the price table"),
});

/** The validated `cost` section. */
export type CostConfig = z.infer<typeof costConfigSchema>;
