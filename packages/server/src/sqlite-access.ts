import { randomBytes } from 'node:crypto';
import { NotFoundError } from '@mailroom/core';
import type { QuotaLimits, QuotaUsage } from '@mailroom/core/post-office';
import type { AccountRow, MessageRow, OwnEntry as RowEntry } from './rows.js';
import type { Statements } from './statements.js';

// Who may see what in the SQLite post office: shared by its reads and its sends.

/** One account's copy of a message, deleted or not. */
export type OwnEntry = RowEntry & { deleted: number };

/**
 * A fresh id suffix, 32 hex digits: the time in milliseconds (12 digits), then 80 random bits.
 * The time first makes ids arrive in order, so a group of sends appends to the right edge of each
 * B-tree keyed by an id (the message id index, the thread indexes) instead of dirtying one random
 * page per send: about half the WAL pages a send writes. The random part keeps ids unguessable and
 * never reused (not across restarts either); there is no counter, so an id says when it was made
 * (as the message's `created_at` does) but not how much mail the server holds.
 */
export function newIdSuffix(now = Date.now()): string {
  // Drawn from a pool of random bytes refilled 4 KiB at a time: one system call per 400 ids, not one per send.
  if (idPoolAt + RANDOM_BYTES > idPool.length) {
    idPool = randomBytes(4000);
    idPoolAt = 0;
  }
  const time = Math.max(0, Math.floor(now)).toString(16).padStart(12, '0').slice(-12);
  const suffix = time + idPool.toString('hex', idPoolAt, idPoolAt + RANDOM_BYTES);
  idPoolAt += RANDOM_BYTES;
  return suffix;
}
/** The random part of an id: 80 bits. */
const RANDOM_BYTES = 10;
let idPool = Buffer.alloc(0);
let idPoolAt = 0;

/** An account row's quota counters, as the post-office kit reads them. */
export const usageOf = (a: AccountRow): QuotaUsage => ({
  hourWindow: a.hour_window,
  hourUsed: a.hour_used,
  dayWindow: a.day_window,
  dayUsed: a.day_used,
});

/** An account row's send limits. */
export const limitsOf = (a: AccountRow): QuotaLimits => ({ hourly: a.hourly_limit, daily: a.daily_limit });

export function accountRow(q: Statements, address: string): AccountRow {
  const row = typeof address === 'string' ? (q.account.get(address) as AccountRow | undefined) : undefined;
  if (!row) throw new NotFoundError(`no account ${String(address)}`);
  return row;
}

/** The caller's own copy of a message: received (preferred) or sent. */
export function ownEntry(q: Statements, address: string, seq: number): OwnEntry | undefined {
  const rows = q.entries.all(address, seq) as OwnEntry[];
  return rows.find((r) => r.direction === 'inbound') ?? rows[0];
}

/**
 * How `address` takes part in a thread: `all` (a sender, `to` or `cc` recipient: every message),
 * `own` (only ever a bcc recipient: the messages addressed to it, as in mail), or not at all.
 */
export function participation(q: Statements, threadId: string, address: string): 'all' | 'own' | undefined {
  const row = q.participant.get(threadId, address) as { hidden: number } | undefined;
  if (!row) return undefined;
  return row.hidden === 0 ? 'all' : 'own';
}

/** Whether `address` may see the message in `row` (read it, reply to it). */
export function canSee(q: Statements, row: MessageRow, address: string): boolean {
  const part = participation(q, row.thread_id, address);
  if (part === 'all') return true;
  return part === 'own' && ownEntry(q, address, row.seq) !== undefined;
}

/**
 * A message by id that `address` may see (the parent of its reply), as {@link canSee} says, with
 * the message and the part `address` takes in its thread read in one statement.
 */
export function parentFor(q: Statements, address: string, messageId: string): MessageRow | undefined {
  if (typeof messageId !== 'string') return undefined;
  const row = q.messageFor.get(address, messageId) as (MessageRow & { hidden: number | null }) | undefined;
  if (!row || row.hidden === null) return undefined;
  const { hidden, ...message } = row;
  // Only ever a bcc recipient of the thread: only the messages addressed to it.
  return hidden === 0 || ownEntry(q, address, message.seq) !== undefined ? message : undefined;
}

/**
 * The accounts this office has seen exist, so that a send does not ask SQLite again whether its
 * recipients do (bounded; the oldest go first). Only what was seen to exist is kept, and an
 * account is never deleted (a revoked key keeps its account), so a remembered one is never stale,
 * even with another process on the same file. Keys are not remembered: `rotate-key` and
 * `revoke-key` (of this process or of the CLI on the same file) change them, and an old key must
 * stop at once.
 */
export class KnownAccounts {
  private readonly addresses = new Set<string>();

  constructor(
    private readonly q: Statements,
    private readonly max = 10_000,
  ) {}

  /** Whether an account `address` exists. */
  has(address: string): boolean {
    if (this.addresses.has(address)) return true;
    if (typeof address !== 'string' || !this.q.exists.get(address)) return false;
    if (this.addresses.size >= this.max) this.addresses.delete(this.addresses.values().next().value as string);
    this.addresses.add(address);
    return true;
  }

  /** The address of the account whose key hashes to `keyHash` (asked of the store every time). */
  addressOf(keyHash: string): string | undefined {
    return (this.q.byKey.get(keyHash) as { address: string } | undefined)?.address;
  }

  /** Throws NotFoundError unless an account `address` exists. */
  check(address: string): void {
    if (!this.has(address)) throw new NotFoundError(`no account ${String(address)}`);
  }
}
