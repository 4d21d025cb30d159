import { ValidationError } from '@mailroom/core';
import { parseOrThrow } from '@mailroom/core/post-office';
import pg from 'pg';
import type { Logger } from 'pino';
import { z } from 'zod';

/** Something that runs one parameterized statement (`$1`, `$2`…) and returns its rows. */
export interface SqlSession {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
}

/**
 * A PostgreSQL engine as the post office uses it: statements, transactions, and notifications.
 * {@link pgDatabase} is a server reached over the network (node-postgres); {@link pgliteDatabase}
 * is PGlite, the same engine in process.
 */
export interface SqlDatabase extends SqlSession {
  /** Runs `fn` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlSession) => Promise<T>): Promise<T>;
  /**
   * Calls `onPayload` for every NOTIFY on `channel` (from any process). Resolves once listening.
   * `onResumed` is called when listening resumes after the connection that listens was lost: what
   * was notified meanwhile is gone, so whoever waits for a notification should look again.
   */
  listen(channel: string, onPayload: (payload: string) => void, onResumed?: () => void): Promise<() => Promise<void>>;
  /** Closes every connection. */
  close(): Promise<void>;
}

/** Options of {@link pgDatabase}. */
export const PgDatabaseOptions = z.object({
  /** `postgres://user@host:port/database` */
  connectionString: z.string().regex(/^postgres(ql)?:\/\//i, 'a postgres:// URL'),
  /** Connections in the pool. @default 10 */
  max: z.number().int().min(1).max(1000).optional(),
  /** Where connection failures are logged. */
  logger: z.custom<Logger>().optional(),
});
export type PgDatabaseOptions = z.input<typeof PgDatabaseOptions>;

/**
 * A PostgreSQL server through node-postgres (`pg`): a pool for statements and transactions, and
 * one more connection that holds LISTEN (reconnected with backoff when it drops).
 */
export function pgDatabase(given: PgDatabaseOptions): SqlDatabase {
  const options = parseOrThrow(PgDatabaseOptions, given, 'postgres database options');
  const pool = new pg.Pool({ connectionString: options.connectionString, max: options.max ?? 10 });
  // An idle pooled connection that drops (server restart) emits 'error': logged, the pool replaces it.
  pool.on('error', (err) => options.logger?.warn({ err }, 'postgres: idle connection lost'));
  const listeners = new Map<string, Set<Listener>>();
  let listener: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  let closed = false;
  let retryMs = 0;

  const connectListener = (): Promise<pg.Client> => {
    connecting ??= (async () => {
      const client = new pg.Client({ connectionString: options.connectionString });
      client.on('notification', (n) => {
        for (const l of listeners.get(n.channel) ?? []) l.onPayload(n.payload ?? '');
      });
      client.on('error', (err) => {
        options.logger?.warn({ err }, 'postgres: listening connection lost; reconnecting');
        lostListener(client);
      });
      client.on('end', () => lostListener(client));
      await client.connect();
      for (const channel of listeners.keys()) await client.query(`LISTEN ${quoteIdent(channel)}`);
      listener = client;
      // After a loss: notifications flow again from here on. What came meanwhile is not replayed:
      // every listener is told, so that what waits on one looks again (mail may have landed).
      if (retryMs > 0) {
        options.logger?.info({ channels: listeners.size }, 'postgres: listening again');
        for (const set of listeners.values()) for (const l of set) l.onResumed?.();
      }
      retryMs = 0;
      return client;
    })();
    // Only clears the slot: the failure itself reaches (and is logged by) whoever awaits `connecting`.
    connecting.catch(() => undefined).finally(() => (connecting = undefined)); // not swallowed: see above
    return connecting;
  };
  const lostListener = (client: pg.Client) => {
    if (listener !== client || closed) return;
    listener = undefined;
    retryMs = Math.min(5_000, retryMs === 0 ? 100 : retryMs * 2);
    setTimeout(() => {
      // A listen() meanwhile may have connected already: one listening connection, never two.
      if (closed || listener) return;
      connectListener().catch((err: unknown) => {
        options.logger?.warn({ err, retryMs }, 'postgres: could not listen again; retrying');
        lostListener(undefined as never);
      });
    }, retryMs).unref();
  };

  return {
    async query<R>(sql: string, params: readonly unknown[] = []) {
      return (await pool.query(sql, params as unknown[])).rows as R[];
    },
    async transaction<T>(fn: (tx: SqlSession) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await fn({
          query: async <R>(sql: string, params: readonly unknown[] = []) =>
            (await client.query(sql, params as unknown[])).rows as R[],
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          broken = rollbackError as Error;
          options.logger?.warn({ err: rollbackError }, 'postgres: rollback failed; dropping the connection');
        }
        throw err;
      } finally {
        client.release(broken);
      }
    },
    async listen(channel, onPayload, onResumed) {
      const entry: Listener = { onPayload, onResumed };
      let set = listeners.get(channel);
      if (!set) {
        const fresh = new Set<Listener>();
        set = fresh;
        listeners.set(channel, fresh);
        try {
          const client = listener ?? (await connectListener());
          if (!connecting) await client.query(`LISTEN ${quoteIdent(channel)}`);
        } catch (err) {
          // Not listening: a later call for the channel must LISTEN again, not take it as done.
          if (fresh.size === 0 && listeners.get(channel) === fresh) listeners.delete(channel);
          throw err;
        }
      }
      set.add(entry);
      return async () => {
        set.delete(entry);
      };
    },
    async close() {
      closed = true;
      const client = listener;
      listener = undefined;
      await client?.end().catch((err: unknown) => options.logger?.warn({ err }, 'postgres: closing the listener'));
      await pool.end();
    },
  };
}

/** One caller of {@link SqlDatabase.listen}. */
type Listener = { onPayload: (payload: string) => void; onResumed: (() => void) | undefined };

/** The part of a PGlite instance that {@link pgliteDatabase} uses (so the package needs no PGlite at run time). */
export interface PGliteLike {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  transaction<T>(
    fn: (tx: { query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[] }> }) => Promise<T>,
  ): Promise<T>;
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** PostgreSQL in process: a PGlite instance (`new PGlite()` from `@electric-sql/pglite`). */
export function pgliteDatabase(db: PGliteLike): SqlDatabase {
  return {
    async query<R>(sql: string, params: readonly unknown[] = []) {
      return (await db.query<R>(sql, [...params])).rows;
    },
    transaction: (fn) =>
      db.transaction((tx) =>
        fn({
          query: async <R>(sql: string, params: readonly unknown[] = []) => (await tx.query<R>(sql, [...params])).rows,
        }),
      ),
    listen: (channel, onPayload) => db.listen(channel, onPayload),
    close: () => db.close(),
  };
}

/** A quoted SQL identifier; only plain lowercase names are accepted. */
export function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name))
    throw ValidationError.single(['schema'], `not a plain SQL identifier: ${name}`);
  return `"${name}"`;
}
