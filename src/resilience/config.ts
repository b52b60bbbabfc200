/**
 * Configuration of the resilience policies: admission control (load shedding) for now.
 *
 * @module
 */
import { z } from "zod";
import { millis } from "../config_fields.ts";

/** The `resilience` configuration section. */
export const resilienceConfigSchema = z.object({
  admission: z.object({
    maxInFlight: z.coerce.number().int().min(1).default(512).describe("requests processed at once"),
    maxQueue: z.coerce.number().int().min(0).default(2048).describe("requests waiting for a slot"),
    maxQueueWaitMs: millis.default(2_000).describe("past this wait a queued request is shed (503)"),
  }).default({ maxInFlight: 512, maxQueue: 2048, maxQueueWaitMs: 2_000 }),
});

/** The validated `resilience` section. */
export type ResilienceConfig = z.infer<typeof resilienceConfigSchema>;
