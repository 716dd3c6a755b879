/**
 * @module
 * Reads and validates a JSON body with zod, so every bad body gets the same 400 naming the field.
 */
import type { Context } from "hono";
import type { z } from "zod";
import { ApiError } from "./errors.ts";

export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new ApiError(400, "invalid_json", "The body must be a JSON object");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.length ? issue.path.join(".") : "(body)";
    throw new ApiError(400, "invalid_body", `${path}: ${issue.message}`);
  }
  return parsed.data;
}
