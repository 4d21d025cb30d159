import type { Clock } from '@mailroom/core';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { SqlDatabase } from './database.js';

/** Options of {@link PostgresPostOffice}. */
export const PostgresPostOfficeOptions = z.object({
  /** The engine: `pgDatabase({ connectionString })` (a server) or `pgliteDatabase(new PGlite())` (in process). */
  database: z.custom<SqlDatabase>((v) => typeof (v as SqlDatabase | undefined)?.transaction === 'function'),
  /** The PostgreSQL schema that holds the tables (one post office per schema). @default 'mailroom' */
  schema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/)
    .default('mailroom'),
  /** Domain of the addresses. @default 'agents.localhost' */
  domain: z.string().min(1).default('agents.localhost'),
  /** Where time comes from (quota windows, timestamps, leases). @default the wall clock */
  clock: z.custom<Clock>((v) => typeof (v as Clock | undefined)?.now === 'function').optional(),
  /** Send quotas of every new account. */
  limits: z
    .object({ hourly: z.number().int().min(0), daily: z.number().int().min(0) })
    .partial()
    .optional(),
  /** Close the database with the office. @default false */
  ownsDatabase: z.boolean().default(false),
  /** Where lost notifications are logged. */
  logger: z.custom<Logger>().optional(),
});
export type PostgresPostOfficeOptions = z.input<typeof PostgresPostOfficeOptions>;
