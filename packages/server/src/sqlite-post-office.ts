import { ConflictError, NotFoundError, ValidationError } from '@mailroom/core';
import {
  type Account,
  type ClaimQuery,
  type Clock,
  checkOfficeOptions,
  decodeCursor,
  encodeCursor,
  hashKey,
  type InboxPage,
  InboxQuery,
  inboxCursorMode,
  type LeasedPage,
  LeaseTable,
  type Message,
  newApiKey,
  type PostOffice,
  parseOrThrow,
  planSend,
  type QuotaLimits,
  RegisterRequest,
  type Registration,
  type RenewRequest,
  type RenewResult,
  type SendRequest,
  type SendResult,
  type SentPage,
  SentQuery,
  systemClock,
  type Thread,
  WakeUps,
} from '@mailroom/core/post-office';
import type { Logger } from 'pino';
import type { Observable } from 'rxjs';
import { z } from 'zod';
import {
  type AccountAdmin,
  AccountLimits,
  type AccountList,
  AccountListQuery,
  type AccountSummary,
  AgentIdParams,
  revokedKeyHash,
  toSummary,
  withNewKey,
} from './accounts.js';
import {
  type AccountRow,
  type MessageRow,
  pageOf,
  sentPage,
  threadView,
  toAccount,
  toMessage,
  withView,
} from './rows.js';
import { accountRow, canSee, KnownAccounts, type OwnEntry, ownEntry, participation } from './sqlite-access.js';
import { WriteGroups } from './sqlite-send.js';
import { type Durability, SqliteStore } from './sqlite-store.js';
import type { Statements } from './statements.js';

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
  /**
   * `full`: an answered write survives a power loss (the WAL is synced at every commit; concurrent
   * sends share a commit). `fast`: the last commits before a power loss may be lost (never on a
   * process crash). @default 'full'
   */
  durability?: Durability;
  /** How long a write waits for the lock another connection or process holds, in ms. @default 5000 */
  busyTimeoutMs?: number;
  /** Where store failures are logged (never keys or mail). @default silent */
  logger?: Logger;
};

const Options = z.object({
  path: z.string().min(1),
  domain: z.string().min(1).optional(),
  limits: z
    .object({ hourly: z.number().int().min(0).optional(), daily: z.number().int().min(0).optional() })
    .optional(),
  durability: z.enum(['full', 'fast']).default('full'),
  busyTimeoutMs: z.number().int().min(0).max(600_000).default(5000),
});

/** Largest registration `profile`, as JSON. */
const MAX_PROFILE_BYTES = 4096;

/**
 * A post office in SQLite (libsql, WAL mode): every account, message, read state and quota
 * survives a restart (and, with `durability: 'full'`, a power loss). Inbox pages are index range
 * scans, O(page). Several processes may share one file: every write takes the lock first and
 * checks what it depends on (quota, idempotency key) inside its transaction.
 */
export class SqlitePostOffice implements PostOffice, AccountAdmin {
  readonly domain: string;
  private readonly store: SqliteStore;
  private readonly clock: Clock;
  private readonly defaultLimits: QuotaLimits;
  private readonly wake = new WakeUps();
  private readonly leases = new LeaseTable({ now: () => this.clock.now() }, (a) => this.wake.notify(a));
  private readonly writes: WriteGroups;
  private readonly known: KnownAccounts;
  private readonly q: Statements;

  constructor(options: SqlitePostOfficeOptions) {
    checkOfficeOptions('SqlitePostOffice', options);
    const o = parseOrThrow(Options, options, 'SQLite post office options');
    this.domain = o.domain ?? 'agents.localhost';
    this.clock = options.clock ?? systemClock;
    this.defaultLimits = { hourly: o.limits?.hourly ?? 10_000, daily: o.limits?.daily ?? 100_000 };
    this.store = new SqliteStore(o.path, {
      durability: o.durability,
      busyTimeoutMs: o.busyTimeoutMs,
      logger: options.logger,
    });
    this.q = this.store.q;
    this.known = new KnownAccounts(this.q);
    this.writes = new WriteGroups(this.store, this.clock, this.known, (recipients) => {
      for (const a of recipients) this.wake.notify(a);
    });
  }

  /** Closes the database. */
  close(): void {
    this.wake.complete();
    // Writes still waiting for their group are committed first (read marks wait a moment for sends).
    this.writes.settle();
    this.store.close();
  }

  /** Whether the store can write now (a probe write). */
  health(): { ok: true } | { ok: false; reason: string } {
    return this.store.health();
  }

  async register(request: RegisterRequest): Promise<Registration> {
    const { agent_id, profile } = parseOrThrow(RegisterRequest, request, 'registration');
    const profileJson = boundedJson(profile ?? {});
    const address = `${agent_id}@${this.domain}`;
    const apiKey = newApiKey();
    const createdAt = this.isoNow();
    this.store.write(() => {
      if (this.q.exists.get(address)) throw new ConflictError(`agent id ${agent_id} is taken`);
      this.q.insertAccount.run(
        address,
        agent_id,
        hashKey(apiKey),
        createdAt,
        this.defaultLimits.hourly,
        this.defaultLimits.daily,
        profileJson,
      );
    });
    return { agent_id, api_key: apiKey, status: 'active', created_at: createdAt, email_address: address };
  }

  /** Every account's address, oldest first (the dashboard's admin view lists them). */
  async addresses(): Promise<string[]> {
    return (this.q.addresses.all() as { address: string }[]).map((r) => r.address);
  }

  async listAccounts(query: AccountListQuery = {}): Promise<AccountList> {
    const q = parseOrThrow(AccountListQuery, query, 'account list query');
    const rows = this.q.accountsAfter.all(q.cursor ?? '', q.limit + 1) as (AccountRow & { key_hash: string })[];
    const { page, hasMore, last } = pageOf(rows, q.limit);
    const now = this.clock.now();
    return {
      accounts: page.map((r) => toSummary(r, now)),
      has_more: hasMore,
      cursor: hasMore && last ? last.agent_id : null,
    };
  }

  async rotateKey(agentId: string): Promise<Registration> {
    const row = this.byAgentId(agentId);
    const apiKey = newApiKey();
    this.store.write(() => this.q.setKey.run(hashKey(apiKey), row.agent_id));
    return withNewKey(row, apiKey);
  }

  async revokeKey(agentId: string): Promise<AccountSummary> {
    const row = this.byAgentId(agentId);
    const key_hash = revokedKeyHash();
    this.store.write(() => this.q.setKey.run(key_hash, row.agent_id));
    return toSummary({ ...row, key_hash }, this.clock.now());
  }

  async setAccountLimits(agentId: string, limits: AccountLimits): Promise<AccountSummary> {
    const l = parseOrThrow(AccountLimits, limits, 'limits');
    const row = this.byAgentId(agentId);
    this.setLimits(row.address, l);
    return toSummary(this.byAgentId(agentId), this.clock.now());
  }

  /** Whether the store answers a query and can write now (a probe write): `/ready` answers with it. */
  ready(): { ok: true } | { ok: false; reason: string } {
    return this.store.health();
  }

  private byAgentId(agentId: string): AccountRow & { key_hash: string } {
    const { agent_id } = parseOrThrow(AgentIdParams, { agent_id: agentId }, 'agent id');
    const row = this.q.byAgentId.get(agent_id) as (AccountRow & { key_hash: string }) | undefined;
    if (!row) throw new NotFoundError(`no account ${agent_id}`);
    return row;
  }

  async authenticate(apiKey: string): Promise<string | undefined> {
    return this.known.addressOf(hashKey(apiKey));
  }

  /** Sets an account's send quotas. */
  setLimits(address: string, limits: { hourly?: number | undefined; daily?: number | undefined }): void {
    this.store.write(() => {
      const a = accountRow(this.q, address);
      this.q.setLimits.run(limits.hourly ?? a.hourly_limit, limits.daily ?? a.daily_limit, address);
    });
  }

  async send(from: string, request: SendRequest): Promise<SendResult> {
    return this.writes.send(from, planSend(request, this.domain));
  }

  async inbox(address: string, query: InboxQuery = {}): Promise<InboxPage> {
    const q = parseOrThrow(InboxQuery, query, 'inbox query');
    this.known.check(address);
    const mode = inboxCursorMode(q.unread_only, q.from_address);
    const after = q.cursor === undefined ? 0 : decodeCursor(q.cursor, mode);
    const from = q.from_address;
    const rows = (
      from === undefined
        ? (q.unread_only ? this.q.inboxUnread : this.q.inboxAll).all(address, after, q.limit + 1)
        : (q.unread_only ? this.q.inboxUnreadFrom : this.q.inboxFrom).all(address, after, from, q.limit + 1)
    ) as MessageRow[];
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
    this.known.check(address);
    const row = this.q.message.get(messageId) as MessageRow | undefined;
    if (!row) throw new NotFoundError(`message ${messageId} not found`);
    const own = ownEntry(this.q, address, row.seq);
    if (own?.deleted) throw new NotFoundError(`message ${messageId} not found`);
    if (!own && !canSee(this.q, row, address)) throw new NotFoundError(`message ${messageId} not found`);
    if (own?.direction === 'inbound' && own.read_at === null) {
      const at = this.isoNow();
      await this.writes.write(() => this.q.setRead.run(at, address, row.seq));
      own.read_at = at;
    }
    this.leases.end(address, [messageId]);
    return toMessage(withView(row, address, own));
  }

  async markRead(address: string, messageIds: readonly string[], options: { unread?: boolean } = {}): Promise<number> {
    this.known.check(address);
    if (!Array.isArray(messageIds) || messageIds.length === 0 || messageIds.length > 100) {
      throw ValidationError.single(['message_ids'], 'must list 1..100 message ids');
    }
    const read = options.unread !== true;
    // Looked up and marked inside the group's transaction (one commit for every write of this turn),
    // every id in one statement and every mark in one more.
    const changed = await this.writes.write(() => {
      const found = new Map<string, OwnEntry & { seq: number }>();
      const named = messageIds.filter((id) => typeof id === 'string');
      if (named.length > 0) {
        const rows = this.q.ownByIds.all(JSON.stringify(named), address) as (OwnEntry & {
          i: number;
          seq: number | null;
        })[];
        for (const { i, ...entry } of rows) {
          const id = named[i] as string;
          // The received copy first (a message sent to oneself has both).
          if (entry.seq !== null && found.get(id)?.direction !== 'inbound')
            found.set(id, entry as OwnEntry & { seq: number });
        }
      }
      for (const id of messageIds) {
        const entry = found.get(id);
        if (!entry || entry.deleted) throw new NotFoundError(`message ${String(id)} not found`);
      }
      const marked = new Set<number>();
      for (const entry of found.values()) {
        if (entry.direction === 'inbound' && (entry.read_at !== null) !== read) marked.add(entry.seq);
      }
      if (marked.size > 0) this.q.setReadMany.run(read ? this.isoNow() : null, address, JSON.stringify([...marked]));
      return marked.size;
    });
    this.leases.end(address, messageIds);
    return changed;
  }

  async star(address: string, messageId: string): Promise<{ starred: boolean }> {
    const { row, entry } = this.own(address, messageId);
    this.store.write(() => this.q.star.run(address, row.seq, entry.direction));
    return { starred: entry.starred === 0 };
  }

  async delete(address: string, messageId: string): Promise<void> {
    const { row } = this.own(address, messageId);
    this.store.write(() => this.q.del.run(address, row.seq));
    this.leases.end(address, [messageId]);
  }

  async thread(address: string, threadId: string): Promise<Thread> {
    this.known.check(address);
    const thread =
      typeof threadId === 'string' ? (this.q.thread.get(threadId) as { subject: string } | undefined) : undefined;
    const part = thread ? participation(this.q, threadId, address) : undefined;
    if (!thread || !part) throw new NotFoundError(`thread ${threadId} not found`);
    const participants = (this.q.participants.all(threadId) as { address: string }[]).map((r) => r.address);
    // Only ever a bcc recipient: the messages addressed to it (those it holds a copy of), as in mail.
    const all = this.q.threadMessages.all(address, threadId) as MessageRow[];
    return threadView(
      threadId,
      thread.subject,
      participants,
      address,
      part === 'all' ? all : all.filter((r) => r.direction != null),
    );
  }

  async sent(address: string, query: SentQuery = {}): Promise<SentPage> {
    const q = parseOrThrow(SentQuery, query, 'sent query');
    this.known.check(address);
    const after = q.cursor === undefined ? 0 : decodeCursor(q.cursor, 's');
    return sentPage(this.q.sentPage.all(address, after, q.limit + 1) as MessageRow[], q.limit);
  }

  async account(address: string): Promise<Account> {
    return toAccount(accountRow(this.q, address), this.clock.now());
  }

  wakeups(address: string): Observable<void> {
    return this.wake.for(address);
  }

  /** The lease extension (worker pools on one address): leases held in this process, beside the file. */
  claim(address: string, query: ClaimQuery = {}): Promise<LeasedPage> {
    return this.leases.claim(address, query, (q) => this.inbox(address, q));
  }

  async renewLease(address: string, request: RenewRequest): Promise<RenewResult> {
    this.known.check(address);
    return this.leases.renew(address, request);
  }

  private unreadCount(address: string): number {
    return (this.q.unreadCount.get(address) as { n: number }).n;
  }

  private own(address: string, messageId: string) {
    this.known.check(address);
    const row = typeof messageId === 'string' ? (this.q.message.get(messageId) as MessageRow | undefined) : undefined;
    const entry = row && ownEntry(this.q, address, row.seq);
    if (!row || !entry || entry.deleted) throw new NotFoundError(`message ${messageId} not found`);
    return { row, entry };
  }

  private isoNow(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

/** A registration profile as JSON, or a ValidationError when it is larger (or deeper) than a profile needs. */
function boundedJson(profile: object): string {
  const msg = `must be at most ${MAX_PROFILE_BYTES} bytes of JSON`;
  const tooLarge = (cause?: unknown) =>
    new ValidationError(`profile: ${msg}`, [{ loc: ['profile'], msg, type: 'value_error' }], { cause });
  let json: string;
  try {
    json = JSON.stringify(profile);
  } catch (err) {
    throw tooLarge(err);
  }
  if (Buffer.byteLength(json, 'utf8') > MAX_PROFILE_BYTES) throw tooLarge();
  return json;
}
