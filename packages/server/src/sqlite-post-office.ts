import { randomBytes } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError } from '@mailroom/core';
import {
  type Account,
  assertQuota,
  type Clock,
  checkOfficeOptions,
  countSend,
  decodeCursor,
  encodeCursor,
  hashKey,
  type InboxPage,
  InboxQuery,
  inboxCursorMode,
  type Message,
  newApiKey,
  type PostOffice,
  parseOrThrow,
  planSend,
  type QuotaLimits,
  type QuotaUsage,
  RegisterRequest,
  type Registration,
  rateLimits,
  type SendRequest,
  type SendResult,
  type SentPage,
  SentQuery,
  systemClock,
  type Thread,
  WakeUps,
} from '@mailroom/core/post-office';
import Database from 'libsql';
import type { Observable } from 'rxjs';
import { type AccountRow, MESSAGE_COLUMNS, type MessageRow, pageOf, toMessage } from './rows.js';
import { SCHEMA } from './schema.js';
import { inTransaction, prepareStatements, type Statements } from './statements.js';

/** Options of {@link SqlitePostOffice}. */
export type SqlitePostOfficeOptions = {
  /** A file path, or `:memory:`. */
  path: string;
  /** Domain of the addresses. @default 'agents.localhost' */
  domain?: string;
  /** Where time comes from. @default the wall clock */
  clock?: Clock;
  /** Send quotas of every new account. @default { hourly: 10000, daily: 100000 } */
  limits?: Partial<QuotaLimits>;
};

/**
 * A post office in SQLite (libsql, WAL mode): every account, message, read state and quota
 * survives a restart. Inbox pages are index range scans, O(page).
 */
export class SqlitePostOffice implements PostOffice {
  readonly domain: string;
  private readonly db: Database.Database;
  private readonly clock: Clock;
  private readonly defaultLimits: QuotaLimits;
  private readonly wake = new WakeUps();
  private readonly idPrefix = randomBytes(4).toString('hex');
  private seq = 0;
  private readonly q: Statements;

  constructor(options: SqlitePostOfficeOptions) {
    checkOfficeOptions('SqlitePostOffice', options);
    this.domain = options.domain ?? 'agents.localhost';
    this.clock = options.clock ?? systemClock;
    this.defaultLimits = { hourly: options.limits?.hourly ?? 10_000, daily: options.limits?.daily ?? 100_000 };
    this.db = new Database(options.path);
    if (options.path !== ':memory:') this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
    this.q = prepareStatements(this.db);

    const last = this.db.prepare('SELECT MAX(seq) AS n FROM messages').get() as { n: number | null };
    this.seq = last.n ?? 0;
  }

  /** Closes the database. */
  close(): void {
    this.wake.complete();
    this.db.close();
  }

  async register(request: RegisterRequest): Promise<Registration> {
    const { agent_id, profile } = parseOrThrow(RegisterRequest, request, 'registration');
    const address = `${agent_id}@${this.domain}`;
    const apiKey = newApiKey();
    const createdAt = this.isoNow();
    try {
      this.q.insertAccount!.run(
        address,
        agent_id,
        hashKey(apiKey),
        createdAt,
        this.defaultLimits.hourly,
        this.defaultLimits.daily,
        JSON.stringify(profile ?? {}),
      );
    } catch (err) {
      if (String((err as { code?: string }).code ?? err).includes('CONSTRAINT')) {
        throw new ConflictError(`agent id ${agent_id} is taken`);
      }
      throw err;
    }
    return { agent_id, api_key: apiKey, status: 'active', created_at: createdAt, email_address: address };
  }

  async authenticate(apiKey: string): Promise<string | undefined> {
    const row = this.q.byKey!.get(hashKey(apiKey)) as { address: string } | undefined;
    return row?.address;
  }

  /** Sets an account's send quotas. */
  setLimits(address: string, limits: Partial<QuotaLimits>): void {
    const a = this.accountRow(address);
    this.q.setLimits!.run(limits.hourly ?? a.hourly_limit, limits.daily ?? a.daily_limit, address);
  }

  async send(from: string, request: SendRequest): Promise<SendResult> {
    const plan = planSend(request, this.domain);
    const req = plan.request;
    const sender = this.accountRow(from);
    if (req.idempotency_key !== undefined) {
      const first = this.q.idem!.get(from, req.idempotency_key) as { result_json: string } | undefined;
      if (first) return JSON.parse(first.result_json) as SendResult;
    }
    for (const address of plan.recipients) {
      if (!this.q.exists!.get(address)) throw new NotFoundError(`recipient ${address} is not registered`);
    }
    let parent: MessageRow | undefined;
    if (req.in_reply_to != null) {
      parent = this.visible(from, req.in_reply_to);
      if (!parent) throw new NotFoundError(`message ${req.in_reply_to} not found`);
    }
    const now = this.clock.now();
    const usage: QuotaUsage = {
      hourWindow: sender.hour_window,
      hourUsed: sender.hour_used,
      dayWindow: sender.day_window,
      dayUsed: sender.day_used,
    };
    const limits = { hourly: sender.hourly_limit, daily: sender.daily_limit };
    assertQuota(usage, limits, now);
    countSend(usage, now);
    const createdAt = new Date(now).toISOString();
    const suffix = `${this.idPrefix}${(this.seq + 1).toString(36).padStart(6, '0')}`;
    const id = `msg_${suffix}`;
    const threadId = parent ? parent.thread_id : `thr_${suffix}`;
    const result = inTransaction(this.q, () => {
      this.q.setUsage!.run(usage.hourWindow, usage.hourUsed, usage.dayWindow, usage.dayUsed, from);
      const info = this.q.insertMessage!.run(
        id,
        threadId,
        from,
        sender.agent_id,
        JSON.stringify(plan.to),
        JSON.stringify(plan.cc),
        req.subject,
        req.body_text ?? null,
        req.body_html ?? null,
        parent ? parent.id : null,
        createdAt,
      );
      const seq = Number(info.lastInsertRowid);
      if (!parent) this.q.insertThread!.run(threadId, req.subject);
      const seen = [...plan.to, ...plan.cc];
      // The usual mail (one recipient, no bcc): sender and recipient in one statement.
      if (seen.length === 1 && plan.bcc.length === 0)
        this.q.addParticipants2!.run(threadId, from, 0, threadId, seen[0], 0);
      else {
        this.q.addParticipant!.run(threadId, from, 0);
        for (const a of seen) this.q.addParticipant!.run(threadId, a, 0);
        for (const a of plan.bcc) this.q.addParticipant!.run(threadId, a, 1);
      }
      this.q.insertEntry!.run(from, seq, 'outbound');
      for (const a of plan.recipients) {
        this.q.insertEntry!.run(a, seq, 'inbound');
        this.q.received!.run(a);
      }
      const message = toMessage({
        seq,
        id,
        thread_id: threadId,
        from_address: from,
        from_agent_id: sender.agent_id,
        to_json: JSON.stringify(plan.to),
        cc_json: JSON.stringify(plan.cc),
        subject: req.subject,
        body_text: req.body_text ?? null,
        body_html: req.body_html ?? null,
        in_reply_to: parent ? parent.id : null,
        created_at: createdAt,
        direction: 'outbound',
        read_at: null,
        starred: 0,
      });
      const result: SendResult = {
        message_id: id,
        thread_id: threadId,
        status: 'delivered',
        delivery_type: 'internal',
        message,
      };
      if (req.idempotency_key !== undefined) this.q.insertIdem!.run(from, req.idempotency_key, JSON.stringify(result));
      this.seq = seq;
      return result;
    });
    for (const a of plan.recipients) this.wake.notify(a);
    return result;
  }

  async inbox(address: string, query: InboxQuery = {}): Promise<InboxPage> {
    const q = parseOrThrow(InboxQuery, query, 'inbox query');
    this.accountRow(address);
    const mode = inboxCursorMode(q.unread_only, q.from_address);
    const after = q.cursor === undefined ? 0 : decodeCursor(q.cursor, mode);
    const rows = this.db
      .prepare(
        `SELECT ${MESSAGE_COLUMNS}, e.direction, e.read_at, e.starred FROM entries e JOIN messages m ON m.seq = e.seq
         WHERE e.owner = ? AND e.direction = 'inbound' AND e.deleted = 0 AND e.seq > ?
         ${q.unread_only ? 'AND e.read_at IS NULL' : ''} ${q.from_address !== undefined ? 'AND m.from_address = ?' : ''}
         ORDER BY e.seq LIMIT ?`,
      )
      .all(...[address, after, ...(q.from_address !== undefined ? [q.from_address] : []), q.limit + 1]) as MessageRow[];
    const { page, hasMore, last } = pageOf(rows, q.limit);
    return {
      messages: page.map((r) => toMessage(r)),
      total: page.length,
      unread_count: this.unreadCount(address),
      has_more: hasMore,
      // Every non-empty page has a cursor: with has_more false it is the tail, where a long poll waits for newer mail.
      cursor: last ? encodeCursor(mode, last.seq) : (q.cursor ?? null),
    };
  }

  async message(address: string, messageId: string): Promise<Message> {
    this.accountRow(address);
    const row = this.q.message!.get(messageId) as MessageRow | undefined;
    if (!row) throw new NotFoundError(`message ${messageId} not found`);
    const own = this.ownEntry(address, row.seq);
    if (own?.deleted) throw new NotFoundError(`message ${messageId} not found`);
    if (!own && !this.isParticipant(row.thread_id, address)) throw new NotFoundError(`message ${messageId} not found`);
    if (own?.direction === 'inbound' && own.read_at === null) {
      own.read_at = this.isoNow();
      this.q.setRead!.run(own.read_at, address, row.seq);
    }
    return toMessage(this.withView(row, address, own));
  }

  async markRead(address: string, messageIds: readonly string[], options: { unread?: boolean } = {}): Promise<number> {
    this.accountRow(address);
    if (!Array.isArray(messageIds) || messageIds.length === 0 || messageIds.length > 100) {
      throw ValidationError.single(['message_ids'], 'must list 1..100 message ids');
    }
    const targets: { seq: number; entry: NonNullable<ReturnType<SqlitePostOffice['ownEntry']>> }[] = [];
    for (const id of messageIds) {
      const row = typeof id === 'string' ? (this.q.message!.get(id) as MessageRow | undefined) : undefined;
      const entry = row && this.ownEntry(address, row.seq);
      if (!row || !entry || entry.deleted) throw new NotFoundError(`message ${String(id)} not found`);
      targets.push({ seq: row.seq, entry });
    }
    const read = options.unread !== true;
    const at = read ? this.isoNow() : null;
    return inTransaction(this.q, () => {
      let changed = 0;
      for (const { seq, entry } of targets) {
        if (entry.direction !== 'inbound' || (entry.read_at !== null) === read) continue;
        this.q.setRead!.run(at, address, seq);
        entry.read_at = at;
        changed += 1;
      }
      return changed;
    });
  }

  async star(address: string, messageId: string): Promise<{ starred: boolean }> {
    const { row, entry } = this.own(address, messageId);
    this.q.star!.run(address, row.seq, entry.direction);
    return { starred: entry.starred === 0 };
  }

  async delete(address: string, messageId: string): Promise<void> {
    const { row } = this.own(address, messageId);
    this.q.del!.run(address, row.seq);
  }

  async thread(address: string, threadId: string): Promise<Thread> {
    this.accountRow(address);
    const thread =
      typeof threadId === 'string' ? (this.q.thread!.get(threadId) as { subject: string } | undefined) : undefined;
    if (!thread || !this.isParticipant(threadId, address)) throw new NotFoundError(`thread ${threadId} not found`);
    const participants = (this.q.participants!.all(threadId) as { address: string }[]).map((r) => r.address);
    if (!participants.includes(address)) participants.push(address);
    const rows = this.q.threadMessages!.all(address, threadId) as MessageRow[];
    return {
      thread_id: threadId,
      subject: thread.subject,
      participant_addresses: participants,
      messages: rows.map((r) => toMessage(this.withView(r, address, undefined))),
    };
  }

  async sent(address: string, query: SentQuery = {}): Promise<SentPage> {
    const q = parseOrThrow(SentQuery, query, 'sent query');
    this.accountRow(address);
    const after = q.cursor === undefined ? 0 : decodeCursor(q.cursor, 's');
    const rows = this.db
      .prepare(
        `SELECT ${MESSAGE_COLUMNS}, e.direction, e.read_at, e.starred FROM entries e JOIN messages m ON m.seq = e.seq
         WHERE e.owner = ? AND e.direction = 'outbound' AND e.deleted = 0 AND e.seq > ? ORDER BY e.seq LIMIT ?`,
      )
      .all(address, after, q.limit + 1) as MessageRow[];
    const { page, hasMore, last } = pageOf(rows, q.limit);
    return {
      messages: page.map((r) => toMessage(r)),
      total: page.length,
      has_more: hasMore,
      cursor: hasMore && last ? encodeCursor('s', last.seq) : null,
    };
  }

  async account(address: string): Promise<Account> {
    const a = this.accountRow(address);
    const usage = { hourWindow: a.hour_window, hourUsed: a.hour_used, dayWindow: a.day_window, dayUsed: a.day_used };
    return {
      email_address: address,
      status: 'active',
      send_tier: 'active',
      reputation_score: 1,
      total_sent: a.total_sent,
      total_received: a.total_received,
      total_bounced: 0,
      total_spam_complaints: 0,
      sending_frozen: false,
      frozen_reason: null,
      rate_limits: rateLimits(usage, { hourly: a.hourly_limit, daily: a.daily_limit }, this.clock.now()),
      created_at: a.created_at,
    };
  }

  wakeups(address: string): Observable<void> {
    return this.wake.for(address);
  }

  private accountRow(address: string): AccountRow {
    const row = typeof address === 'string' ? (this.q.account!.get(address) as AccountRow | undefined) : undefined;
    if (!row) throw new NotFoundError(`no account ${String(address)}`);
    return row;
  }

  private unreadCount(address: string): number {
    return (this.q.unreadCount!.get(address) as { n: number }).n;
  }

  /** The caller's own copy of a message: received (preferred) or sent. */
  private ownEntry(address: string, seq: number) {
    const rows = this.q.entries!.all(address, seq) as {
      direction: 'inbound' | 'outbound';
      read_at: string | null;
      starred: number;
      deleted: number;
    }[];
    return rows.find((r) => r.direction === 'inbound') ?? rows[0];
  }

  private own(address: string, messageId: string) {
    this.accountRow(address);
    const row = typeof messageId === 'string' ? (this.q.message!.get(messageId) as MessageRow | undefined) : undefined;
    const entry = row && this.ownEntry(address, row.seq);
    if (!row || !entry || entry.deleted) throw new NotFoundError(`message ${messageId} not found`);
    return { row, entry };
  }

  private isParticipant(threadId: string, address: string): boolean {
    return this.q.participant!.get(threadId, address) !== undefined;
  }

  private visible(address: string, messageId: string): MessageRow | undefined {
    const row = this.q.message!.get(messageId) as MessageRow | undefined;
    return row && this.isParticipant(row.thread_id, address) ? row : undefined;
  }

  private withView(row: MessageRow, viewer: string, own: ReturnType<SqlitePostOffice['ownEntry']>): MessageRow {
    if (own) return { ...row, direction: own.direction, read_at: own.read_at, starred: own.starred };
    if (row.direction != null) return row;
    return { ...row, direction: row.from_address === viewer ? 'outbound' : 'inbound', read_at: null, starred: 0 };
  }

  private isoNow(): string {
    return new Date(this.clock.now()).toISOString();
  }
}
