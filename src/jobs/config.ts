/**
 * Configuration of asynchronous jobs.
 *
 * @module
 */
import { z } from "zod";

/** The `jobs` configuration section. */
export const jobsConfigSchema = z.object({
  resultTtlSeconds: z.coerce.number().int().positive().default(86_400),
});

/** The validated `jobs` section. */
export type JobsConfig = z.infer<typeof jobsConfigSchema>;
