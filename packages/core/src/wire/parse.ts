import type { z } from 'zod';
import { ValidationError } from '../errors.js';

/** Parses `input` with `schema`, or throws a `ValidationError` naming `what` was invalid. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw ValidationError.fromZod(what, result.error);
  return result.data;
}

/**
 * Checks options where they enter: returns them parsed, or throws one `ValidationError` naming the
 * option, the value it had and the rule it breaks.
 */
export function checkOptions<S extends z.ZodType>(what: string, schema: S, options: unknown): z.output<S> {
  const result = schema.safeParse(options);
  if (!result.success) throw ValidationError.fromZod(what, result.error, options ?? {});
  return result.data;
}
