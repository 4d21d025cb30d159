import { MailboxError, MailroomError } from '@mailroom/core';
import Database from 'libsql';
import { type Logger, pino } from 'pino';
import { SCHEMA, SESSION_SCHEMA } from './schema.js';
import { prepareStatements, type Statements } from './statements.js';

/**
 * How hard a commit holds on to the mail. `full`: every answered write is on disk (SQLite
 * `synchronous = FULL`, the WAL synced at each commit) and survives a power loss. `fast`:
 * `synchronous = NORMAL`, the last commits before a power loss (not a process crash) may be lost.
 */
export type Durability = 'full' | 'fast';

/** SQLite result codes that mean "the store cannot write now", not "this request is wrong". */
const UNAVAILABLE = [
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_READONLY',
  'SQLITE_CANTOPEN',
  'SQLITE_PROTOCOL',
];

/** The error a caller sees for a failed store operation: `MailboxError` 503 when the store cannot write now. */
export function storeError(err: unknown): unknown {
  if (err instanceof MailroomError) return err;
  const code = String((err as { code?: unknown }).code ?? '');
  if (UNAVAILABLE.some((c) => code === c || code.startsWith(`${c}_`))) {
    return new MailboxError(`the store cannot write now (${code}); try again`, 503, { cause: err });
  }
  return err;
}

/**
 * One SQLite connection of the post office: pragmas, schema, statements, and write transactions
 * that take the write lock first (`BEGIN IMMEDIATE`, waiting up to the busy timeout for another
 * connection or process) and never leave the connection in a state a failure caused.
 */
export class SqliteStore {
  readonly db: Database.Database;
  readonly q: Statements;
  /**
   * Whether the file holds idempotency keys of the code before `idempotency_keys` (then a send
   * with a key looks there too; a file this code created never has any).
   */
  readonly oldIdempotency: boolean;
  private readonly log: Logger;

  constructor(path: string, options: { durability: Durability; busyTimeoutMs: number; logger: Logger | undefined }) {
    this.log = options.logger ?? pino({ level: 'silent' });
    this.db = new Database(path);
    this.db.exec(`PRAGMA busy_timeout = ${options.busyTimeoutMs}`);
    if (path !== ':memory:') this.db.pragma('journal_mode = WAL');
    this.db.exec(`PRAGMA synchronous = ${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
    this.db.exec(SESSION_SCHEMA);
    this.q = prepareStatements(this.db);
    this.oldIdempotency = this.db.prepare('SELECT 1 FROM idempotency LIMIT 1').get() !== undefined;
  }

  /** Runs `fn` in one write transaction; a failure rolls it back and is thrown as {@link storeError} says. */
  write<T>(fn: () => T): T {
    this.begin();
    let result: T;
    try {
      result = fn();
    } catch (err) {
      this.rollback(err);
      throw storeError(err);
    }
    this.commit();
    return result;
  }

  /**
   * Takes the write lock. Not a prepared statement: a prepared statement that fails on a lock
   * stays "in progress" in libsql and makes every later COMMIT fail.
   */
  begin(): void {
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      throw storeError(err);
    }
  }

  commit(): void {
    try {
      this.db.exec('COMMIT');
    } catch (err) {
      this.rollback(err);
      throw storeError(err);
    }
  }

  /** Rolls back what is still open (SQLite may have rolled back already: disk full, I/O error). */
  rollback(cause: unknown): void {
    if (!this.db.inTransaction) return;
    try {
      this.db.exec('ROLLBACK');
    } catch (err) {
      // The failure that led here is the one the caller gets; this one is only logged.
      this.log.error({ err, cause }, 'rollback failed');
    }
  }

  /** Whether the store can write now: a probe write that takes the lock and commits. */
  health(): { ok: true } | { ok: false; reason: string } {
    try {
      this.write(() => this.q.probe.run(new Date().toISOString()));
      return { ok: true };
    } catch (err) {
      const cause = err instanceof MailroomError ? err.cause : err;
      const code = String((cause as { code?: unknown } | undefined)?.code ?? 'error');
      this.log.warn({ err }, 'store health probe failed');
      return { ok: false, reason: `the store cannot write (${code})` };
    }
  }

  close(): void {
    this.db.close();
  }
}
