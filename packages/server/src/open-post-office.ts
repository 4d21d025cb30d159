import type { PostOffice } from '@mailroom/core';
import type { QuotaLimits } from '@mailroom/core/post-office';
import type { Logger } from 'pino';
import { pgDatabase } from './postgres/database.js';
import { PostgresPostOffice } from './postgres/postgres-post-office.js';
import { SqlitePostOffice } from './sqlite-post-office.js';
import type { Durability } from './sqlite-store.js';

/** True when `--db` names a PostgreSQL server rather than a SQLite file. */
export const isPostgresUrl = (db: string): boolean => /^postgres(ql)?:\/\//i.test(db);

/**
 * The post office `mailroom-server --db` names: a PostgreSQL server (`postgres://…`, shared by any
 * number of replicas) or a SQLite file (one process). `close` ends it.
 */
export async function openPostOffice(options: {
  db: string;
  domain: string;
  limits: QuotaLimits;
  logger: Logger;
  /** SQLite only (PostgreSQL keeps every committed send). */
  durability?: Durability;
  /** SQLite only: how long a write waits for another process's lock. */
  busyTimeoutMs?: number;
}): Promise<{ postOffice: PostOffice; close(): Promise<void> }> {
  if (isPostgresUrl(options.db)) {
    const postOffice = await PostgresPostOffice.open({
      database: pgDatabase({ connectionString: options.db, logger: options.logger }),
      ownsDatabase: true,
      domain: options.domain,
      limits: options.limits,
      logger: options.logger,
    });
    return { postOffice, close: () => postOffice.close() };
  }
  const postOffice = new SqlitePostOffice({
    path: options.db,
    domain: options.domain,
    limits: options.limits,
    logger: options.logger,
    ...(options.durability ? { durability: options.durability } : {}),
    ...(options.busyTimeoutMs !== undefined ? { busyTimeoutMs: options.busyTimeoutMs } : {}),
  });
  return { postOffice, close: async () => postOffice.close() };
}

/** The database as it may be logged: a PostgreSQL URL without its password. */
export function describeDb(db: string): string {
  if (!isPostgresUrl(db)) return db;
  const url = new URL(db);
  if (url.password) url.password = '***';
  return url.toString();
}
