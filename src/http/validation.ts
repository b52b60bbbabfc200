/**
 * Request parsing helpers: JSON bodies that fail to parse and zod issues both become 400s that name the field.
 *
 * @module
 */
import type { Context } from "hono";
import type { z } from "zod";
import { InvalidRequestError } from "../errors.ts";

/** Parses the request body as JSON; a 400 that says what is wrong otherwise. */
export async function parseJsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") throw new InvalidRequestError("the request body is empty; send a JSON object");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidRequestError(`the request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** The first zod issue as a 400 naming the field. */
export function zodIssueToError(error: z.ZodError): InvalidRequestError {
  const issue = error.issues[0];
  const param = issue.path.map(String).join(".") || undefined;
  const where = param ? `${param}: ` : "";
  return new InvalidRequestError(`${where}${issue.message}`, { param });
}

/** Validates `value` with `schema`; throws the first issue as a 400. */
export function validate<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw zodIssueToError(parsed.error);
  return parsed.data;
}
