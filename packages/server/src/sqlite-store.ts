import { MailboxError, MailroomError } from '@mailroom/core';
import Database from 'libsql';
import OffThread from 'libsql/promise';
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
  /** Where the write groups (sends, read marks) run: see {@link GroupConnection}. */
  readonly groups: GroupConnection;
  private readonly log: Logger;

  constructor(path: string, options: { durability: Durability; busyTimeoutMs: number; logger: Logger | undefined }) {
    this.log = options.logger ?? pino({ level: 'silent' });
    this.db = open(path, options);
    this.db.exec(SCHEMA);
    this.db.exec(SESSION_SCHEMA);
    this.q = prepareStatements(this.db);
    this.oldIdempotency = this.db.prepare('SELECT 1 FROM idempotency LIMIT 1').get() !== undefined;
    // At `full` on a file the groups commit on a connection of their own, off the event loop.
    const apart = options.durability === 'full' && path !== ':memory:';
    this.groups = apart
      ? new GroupConnection(open(path, options), this.log, true)
      : new GroupConnection(this.db, this.log, false, this.q);
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
    begin(this.db);
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
    rollback(this.db, this.log, cause);
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
    if (this.groups.db !== this.db) this.groups.db.close();
  }
}

/** A connection with the post office's pragmas (WAL, durability, busy timeout, foreign keys). */
function open(path: string, options: { durability: Durability; busyTimeoutMs: number }): Database.Database {
  const db = new Database(path);
  db.exec(`PRAGMA busy_timeout = ${options.busyTimeoutMs}`);
  if (path !== ':memory:') db.pragma('journal_mode = WAL');
  db.exec(`PRAGMA synchronous = ${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('foreign_keys = ON');
  return db;
}

function begin(db: Database.Database): void {
  try {
    db.exec('BEGIN IMMEDIATE');
  } catch (err) {
    throw storeError(err);
  }
}

function rollback(db: Database.Database, log: Logger, cause: unknown): void {
  if (!db.inTransaction) return;
  try {
    db.exec('ROLLBACK');
  } catch (err) {
    // The failure that led here is the one the caller gets; this one is only logged.
    log.error({ err, cause }, 'rollback failed');
  }
}

/**
 * libsql's `COMMIT` on a thread of its pool: the same statement on the same connection, only the
 * event loop does not wait for it. libsql's promise API runs `exec` so; its `exec` needs nothing
 * of the connection object but the native handle (`db`), which both APIs keep there.
 */
const execOffThread = (
  OffThread as unknown as { prototype: { exec(this: Database.Database, sql: string): Promise<void> } }
).prototype.exec;

/**
 * The connection the write groups run on. At `durability: 'full'` on a file it is a second
 * connection of its own, and its `COMMIT` runs off the event loop: the commit writes the WAL and
 * syncs it (milliseconds) on another thread, while the loop goes on reading requests, answering
 * reads (on the store's first connection, which sees a group only once its commit and sync are
 * done: SQLite makes a commit visible after its WAL sync) and queueing the next group. Nothing
 * else uses this connection, and the next group begins only after the last commit ended.
 * Elsewhere (`fast`, `:memory:`) it is the store's own connection and commits in place.
 */
export class GroupConnection {
  readonly q: Statements;

  constructor(
    readonly db: Database.Database,
    private readonly log: Logger,
    /** Whether `commit` runs off the event loop. */
    readonly offThread: boolean,
    q?: Statements,
  ) {
    if (!q) db.exec(SESSION_SCHEMA);
    this.q = q ?? prepareStatements(db);
  }

  begin(): void {
    begin(this.db);
  }

  /** Commits in place, or off the event loop (then the promise settles when the commit and its sync are done). */
  commit(): Promise<void> | undefined {
    if (!this.offThread) {
      this.commitHere();
      return undefined;
    }
    return execOffThread.call(this.db, 'COMMIT').catch((err: unknown) => {
      this.rollback(err);
      throw storeError(err);
    });
  }

  /** Commits in place (a group that runs while the office closes). */
  commitHere(): void {
    try {
      this.db.exec('COMMIT');
    } catch (err) {
      this.rollback(err);
      throw storeError(err);
    }
  }

  rollback(cause: unknown): void {
    rollback(this.db, this.log, cause);
  }
}
