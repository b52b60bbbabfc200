/**
 * Small zod building blocks shared by every configuration section, so that environment strings and JSON values
 * are read the same way everywhere.
 *
 * @module
 */
import { z } from "zod";

/** A boolean that also accepts the strings `true/false/1/0/yes/no/on/off` (environment values). */
export const booleanSetting = z.union([
  z.boolean(),
  z.enum(["true", "false", "1", "0", "yes", "no", "on", "off"]).transform((v) =>
    ["true", "1", "yes", "on"].includes(v)
  ),
]);

/** A non-negative whole number of milliseconds (strings from the environment are converted). */
export const millis = z.coerce.number().int().min(0);

/** A fraction between 0 and 1 inclusive. */
export const fraction = z.coerce.number().min(0).max(1);
