import { randomBytes } from 'node:crypto';
import {
  type Account,
  type Clock,
  ConflictError,
  type InboxPage,
  InboxQuery,
  type Message,
  NotFoundError,
  type PostOffice,
  type SendRequest,
  type SendResult,
  type SentPage,
  SentQuery,
  type Thread,
  ValidationError,
} from '@mailroom/core';
import {
  ClaimQuery,
  decodeCursor,
  encodeCursor,
  hashKey,
  inboxCursorMode,
  type LeasedPage,
  newApiKey,
  parseOrThrow,
  type QuotaLimits,
  RegisterRequest,
  type Registration,
  RenewRequest,
  type RenewResult,
  systemClock,
  WakeUps,
} from '@mailroom/core/post-office';
import type { Observable } from 'rxjs';
import type { z } from 'zod';
import {
  type AccountAdmin,
  AccountLimits,
  type AccountList,
  AccountListQuery,
  type AccountSummary,
  AgentIdParams,
  accountPage,
  revokedKeyHash,
  toSummary,
  withNewKey,
} from '../accounts.js';
import {
  type AccountRow,
  type MessageRow,
  pageOf,
  sentPage,
  threadView,
  toAccount,
  toMessage,
  withView,
} from '../rows.js';
import { quoteIdent, type SqlDatabase } from './database.js';
import { PostgresPostOfficeOptions } from './options.js';
import { migrate } from './schema.js';
import { PgSender } from './sender.js';
import { type PgStatements, pgStatements } from './statements.js';

type EntryRow = { direction: 'inbound' | 'outbound'; read_at: string | null; starred: number; deleted: number };

/**
 * A post office in PostgreSQL: any number of processes (server replicas) share one database.
 * Quotas are exact across them (sender and recipients are locked in one order inside the send's
 * transaction), idempotency keys are unique per account, and a send wakes long polls held by
 * every process (NOTIFY on commit). Open it with {@link PostgresPostOffice.open}.
 */
export class PostgresPostOffice implements PostOffice, AccountAdmin {
  readonly domain: string;
  private readonly db: SqlDatabase;
  private readonly clock: Clock;
  private readonly limits: QuotaLimits;
  private readonly wake = new WakeUps();
  private readonly q: PgStatements;
  private readonly channel: string;
  /** Tags this office's own notifications: it wakes its listeners at once and skips their echo. */
  private readonly origin = randomBytes(6).toString('hex');
  private stopListening: (() => Promise<void>) | undefined;
  private readonly options: z.output<typeof PostgresPostOfficeOptions>;
  private readonly sender: PgSender;

  /** Connects, creates or migrates the schema, and listens for mail sent through other processes. */
  static async open(options: PostgresPostOfficeOptions): Promise<PostgresPostOffice> {
    const office = new PostgresPostOffice(parseOrThrow(PostgresPostOfficeOptions, options, 'postgres options'));
    await office.db.transaction((tx) => migrate(tx, office.options.schema, quoteIdent(office.options.schema)));
    office.stopListening = await office.db.listen(
      office.channel,
      (payload) => office.onNotice(payload),
      // Notices sent while the listening connection was down are lost: every waiter looks again.
      () => office.wake.notifyAll(),
    );
    return office;
  }

  private constructor(options: z.output<typeof PostgresPostOfficeOptions>) {
    this.options = options;
    this.db = options.database;
    this.domain = options.domain.toLowerCase();
    this.clock = options.clock ?? systemClock;
    this.limits = { hourly: options.limits?.hourly ?? 10_000, daily: options.limits?.daily ?? 100_000 };
    this.q = pgStatements(quoteIdent(options.schema));
    this.channel = `mailroom_${options.schema}`;
    const { db, q, clock, domain, channel, origin } = this;
    this.sender = new PgSender({ db, q, clock, domain, channel, origin, log: this.options.logger });
  }

  /** Stops listening (and closes the database when the office owns it). */
  async close(): Promise<void> {
    this.wake.complete();
    await this.stopListening?.();
    if (this.options.ownsDatabase) await this.db.close();
  }

  async register(request: RegisterRequest): Promise<Registration> {
    const { agent_id, profile } = parseOrThrow(RegisterRequest, request, 'registration');
    const address = `${agent_id}@${this.domain}`;
    const apiKey = newApiKey();
    const createdAt = this.isoNow();
    try {
      await this.db.query(this.q.insertAccount, [
        address,
        agent_id,
        hashKey(apiKey),
        createdAt,
        this.limits.hourly,
        this.limits.daily,
        JSON.stringify(profile ?? {}),
      ]);
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new ConflictError(`agent id ${agent_id} is taken`);
      throw err;
    }
    return { agent_id, api_key: apiKey, status: 'active', created_at: createdAt, email_address: address };
  }

  /** Every account's address, oldest first (the dashboard's admin view lists them). */
  async addresses(): Promise<string[]> {
    return (await this.db.query<{ address: string }>(this.q.addresses, [])).map((r) => r.address);
  }

  async authenticate(apiKey: string): Promise<string | undefined> {
    // Asked every time (an indexed lookup): a key rotated or revoked through any process stops
    // working at once on every replica.
    const [row] = await this.db.query<{ address: string }>(this.q.byKey, [hashKey(apiKey)]);
    return row?.address;
  }

  async listAccounts(query: AccountListQuery = {}): Promise<AccountList> {
    const q = parseOrThrow(AccountListQuery, query, 'account list query');
    const rows = await this.db.query<AccountRow & { key_hash: string }>(this.q.accountsAfter, [
      q.cursor ?? '',
      q.limit + 1,
    ]);
    return accountPage(rows, q.limit, this.clock.now());
  }

  async rotateKey(agentId: string): Promise<Registration> {
    const row = await this.byAgentId(agentId);
    const apiKey = newApiKey();
    await this.db.query(this.q.setKey, [hashKey(apiKey), row.agent_id]);
    return withNewKey(row, apiKey);
  }

  async revokeKey(agentId: string): Promise<AccountSummary> {
    const row = await this.byAgentId(agentId);
    const key_hash = revokedKeyHash();
    await this.db.query(this.q.setKey, [key_hash, row.agent_id]);
    return toSummary({ ...row, key_hash }, this.clock.now());
  }

  async setAccountLimits(agentId: string, limits: AccountLimits): Promise<AccountSummary> {
    const l = parseOrThrow(AccountLimits, limits, 'limits');
    const row = await this.byAgentId(agentId);
    await this.setLimits(row.address, l);
    return toSummary(await this.byAgentId(agentId), this.clock.now());
  }

  /** Whether the database answers a query now: `/ready` answers with it. */
  async ready(): Promise<{ ok: true } | { ok: false; reason: string }> {
    try {
      await this.db.query(this.q.ready);
      return { ok: true };
    } catch (err) {
      this.options.logger?.warn({ err }, 'postgres post office: readiness query failed');
      return {
        ok: false,
        reason: `the database does not answer (${(err as { code?: string }).code ?? (err as Error).message})`,
      };
    }
  }

  private async byAgentId(agentId: string): Promise<AccountRow & { key_hash: string }> {
    const { agent_id } = parseOrThrow(AgentIdParams, { agent_id: agentId }, 'agent id');
    const [row] = await this.db.query<AccountRow & { key_hash: string }>(this.q.byAgentId, [agent_id]);
    if (!row) throw new NotFoundError(`no account ${agent_id}`);
    return row;
  }

  /** Sets an account's send quotas. */
  async setLimits(address: string, limits: { hourly?: number | undefined; daily?: number | undefined }): Promise<void> {
    await this.accountRow(address);
    await this.db.query(this.q.setLimits, [limits.hourly ?? null, limits.daily ?? null, address]);
  }

  async send(from: string, request: SendRequest): Promise<SendResult> {
    const { result, recipients } = await this.sender.send(from, request);
    for (const a of recipients) this.wake.notify(a);
    return result;
  }

  async inbox(address: string, query: InboxQuery = {}): Promise<InboxPage> {
    const q = parseOrThrow(InboxQuery, query, 'inbox query');
    await this.accountRow(address);
    const mode = inboxCursorMode(q.unread_only, q.from_address);
    const after = q.cursor === undefined ? 0 : decodeCursor(q.cursor, mode);
    const from = q.from_address !== undefined;
    const rows = await this.db.query<MessageRow>(this.q.inbox(q.unread_only, from), [
      address,
      after,
      q.limit + 1,
      ...(from ? [q.from_address] : []),
    ]);
    const { page, hasMore, last } = pageOf(rows, q.limit);
    return {
      messages: page.map((r) => toMessage(r)),
      total: page.length,
      unread_count: await this.unreadCount(address),
      has_more: hasMore,
      cursor: last ? encodeCursor(mode, last.seq) : (q.cursor ?? null),
    };
  }

  async message(address: string, messageId: string): Promise<Message> {
    const { row, own } = await this.find(address, messageId);
    if (!own && (await this.participation(row.thread_id, address)) !== 'all') {
      throw new NotFoundError(`message ${messageId} not found`);
    }
    if (own?.direction === 'inbound' && own.read_at === null) {
      own.read_at = this.isoNow();
      await this.db.query(this.q.setRead, [own.read_at, address, [row.seq], true]);
    }
    return toMessage(withView(row, address, own));
  }

  async markRead(address: string, messageIds: readonly string[], options: { unread?: boolean } = {}): Promise<number> {
    await this.accountRow(address);
    if (!Array.isArray(messageIds) || messageIds.length === 0 || messageIds.length > 100) {
      throw ValidationError.single(['message_ids'], 'must list 1..100 message ids');
    }
    // One lookup for every id: all or nothing, like every office.
    const own = await this.db.query<{ id: string; seq: number }>(this.q.ownLive, [address, messageIds]);
    const found = new Map(own.map((r) => [r.id, r.seq]));
    const missing = messageIds.find((id) => !found.has(id));
    if (missing !== undefined) throw new NotFoundError(`message ${String(missing)} not found`);
    const seqs = [...found.values()];
    const read = options.unread !== true;
    const changed = await this.db.query<{ seq: number }>(`${this.q.setRead} RETURNING seq`, [
      read ? this.isoNow() : null,
      address,
      seqs,
      read,
    ]);
    return changed.length;
  }

  async star(address: string, messageId: string): Promise<{ starred: boolean }> {
    const { row, own } = await this.find(address, messageId, true);
    await this.db.query(this.q.star, [address, row.seq, own?.direction]);
    return { starred: own?.starred === 0 };
  }

  async delete(address: string, messageId: string): Promise<void> {
    const { row } = await this.find(address, messageId, true);
    await this.db.query(this.q.del, [address, row.seq]);
  }

  async thread(address: string, threadId: string): Promise<Thread> {
    await this.accountRow(address);
    const [thread] =
      typeof threadId === 'string' ? await this.db.query<{ subject: string }>(this.q.thread, [threadId]) : [];
    const part = thread ? await this.participation(threadId, address) : undefined;
    if (!thread || !part) throw new NotFoundError(`thread ${threadId} not found`);
    const participants = (await this.db.query<{ address: string }>(this.q.participants, [threadId])).map(
      (r) => r.address,
    );
    const all = await this.db.query<MessageRow>(this.q.threadMessages, [address, threadId]);
    // Only ever a bcc recipient: the messages addressed to it (those it holds a copy of), as in mail.
    const rows = part === 'all' ? all : all.filter((r) => r.direction != null);
    return threadView(threadId, thread.subject, participants, address, rows);
  }

  async sent(address: string, query: SentQuery = {}): Promise<SentPage> {
    const q = parseOrThrow(SentQuery, query, 'sent query');
    await this.accountRow(address);
    const after = q.cursor === undefined ? 0 : decodeCursor(q.cursor, 's');
    const rows = await this.db.query<MessageRow>(this.q.sent, [address, after, q.limit + 1]);
    return sentPage(rows, q.limit);
  }

  async account(address: string): Promise<Account> {
    return toAccount(await this.accountRow(address), this.clock.now());
  }

  wakeups(address: string): Observable<void> {
    return this.wake.for(address);
  }

  async claim(address: string, query: ClaimQuery = {}): Promise<LeasedPage> {
    const q = parseOrThrow(ClaimQuery, query, 'claim query');
    await this.accountRow(address);
    const now = this.clock.now();
    const leaseId = `lease_${randomBytes(12).toString('base64url')}`;
    const until = now + q.lease_seconds * 1000;
    const claimed = await this.db.query<{ seq: number }>(this.q.claim, [address, q.limit, leaseId, until, now]);
    const rows = claimed.length
      ? await this.db.query<MessageRow>(this.q.claimed, [address, claimed.map((r) => r.seq)])
      : [];
    return {
      messages: rows.map((r) => toMessage(r)),
      total: rows.length,
      unread_count: await this.unreadCount(address),
      has_more: rows.length === q.limit,
      cursor: null,
      lease_id: rows.length ? leaseId : null,
      lease_expires_at: rows.length ? new Date(until).toISOString() : null,
    };
  }

  async renewLease(address: string, request: RenewRequest): Promise<RenewResult> {
    const r = parseOrThrow(RenewRequest, request, 'lease renewal');
    await this.accountRow(address);
    const until = r.lease_seconds === 0 ? null : this.clock.now() + r.lease_seconds * 1000;
    const renewed = await this.db.query(`${this.q.renew} RETURNING seq`, [
      address,
      r.lease_id,
      until,
      r.message_ids ?? null,
    ]);
    // A released message is claimable again at once: wake the consumers of this address.
    if (until === null && renewed.length > 0) {
      await this.db.query('SELECT pg_notify($1, $2)', [this.channel, JSON.stringify([this.origin, [address]])]);
      this.wake.notify(address);
    }
    return {
      renewed: renewed.length,
      lease_expires_at: until === null || renewed.length === 0 ? null : new Date(until).toISOString(),
    };
  }

  private onNotice(payload: string): void {
    try {
      const [origin, addresses] = JSON.parse(payload) as [string, string[]];
      if (origin === this.origin) return;
      for (const a of addresses) this.wake.notify(a);
    } catch (err) {
      this.options.logger?.warn({ err }, 'postgres post office: unreadable notification ignored');
    }
  }

  private async accountRow(address: string): Promise<AccountRow> {
    const [row] = typeof address === 'string' ? await this.db.query<AccountRow>(this.q.account, [address]) : [];
    if (!row) throw new NotFoundError(`no account ${String(address)}`);
    return row;
  }

  private async unreadCount(address: string): Promise<number> {
    const [row] = await this.db.query<{ n: number }>(this.q.unreadCount, [address]);
    return row?.n ?? 0;
  }

  /** A message and the caller's own copy of it (received preferred); `own` required when `mustOwn`. */
  private async find(address: string, messageId: string, mustOwn = false) {
    await this.accountRow(address);
    const [row] = typeof messageId === 'string' ? await this.db.query<MessageRow>(this.q.message, [messageId]) : [];
    const entries = row ? await this.db.query<EntryRow>(this.q.entries, [address, row.seq]) : [];
    const own = entries.find((e) => e.direction === 'inbound') ?? entries[0];
    if (!row || own?.deleted || (mustOwn && !own)) throw new NotFoundError(`message ${String(messageId)} not found`);
    return { row, own };
  }

  /**
   * How `address` takes part in a thread: `all` (a sender, `to` or `cc` recipient: every message),
   * `own` (only ever a bcc recipient: the messages addressed to it), or not at all.
   */
  private async participation(threadId: string, address: string): Promise<'all' | 'own' | undefined> {
    const [row] = await this.db.query<{ hidden: number }>(this.q.participant, [threadId, address]);
    if (!row) return undefined;
    return row.hidden === 0 ? 'all' : 'own';
  }

  private isoNow(): string {
    return new Date(this.clock.now()).toISOString();
  }
}
