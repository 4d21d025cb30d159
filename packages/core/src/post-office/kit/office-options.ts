import { z } from 'zod';
import { checkOptions } from '../../wire/parse.js';

/** A domain name of agent addresses: lowercase labels of letters, digits and inner hyphens. */
export const Domain = z
  .string()
  .regex(
    /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/,
    'a domain name: lowercase letters, digits, hyphens and dots',
  );

/** The options every post office takes (each implementation adds its own). */
export const OfficeOptions = z
  .object({
    domain: Domain.optional(),
    limits: z
      .object({
        hourly: z.number().int().nonnegative().optional(),
        daily: z.number().int().nonnegative().optional(),
      })
      .strict()
      .optional(),
  })
  .loose();

/** Checks a post office's options where they enter: `ValidationError` naming option, value and rule. */
export function checkOfficeOptions<T>(what: string, options: T): T {
  checkOptions(`${what} options`, OfficeOptions, options ?? {});
  return options;
}
