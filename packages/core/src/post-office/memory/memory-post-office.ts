import { randomBytes } from 'node:crypto';
import type { Observable } from 'rxjs';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import type { PostOffice } from '../../mailbox/post-office-contract.js';
import { type Clock, systemClock } from '../../time/clock.js';
import type { ClaimQuery, LeasedPage, RenewRequest, RenewResult } from '../../wire/lease.js';
import {
  type Account,
  type InboxPage,
  InboxQuery,
  type Message,
  RegisterRequest,
  type Registration,
  type SendRequest,
  type SendResult,
  type SentPage,
  SentQuery,
  type Thread,
} from '../../wire/model.js';
import { parseOrThrow } from '../../wire/parse.js';
import { decodeCursor, encodeCursor, inboxCursorMode } from '../kit/cursor.js';
import { checkInboxFast } from '../kit/fast-checks.js';
import { hashKey, newApiKey } from '../kit/keys.js';
import { LeaseTable } from '../kit/lease-table.js';
import { checkOfficeOptions } from '../kit/office-options.js';
import { admitSend, emptyUsage, type QuotaLimits } from '../kit/quota.js';
import { planSend } from '../kit/send-plan.js';
import { WakeUps } from '../kit/wake-ups.js';
import { HideableList } from './hideable-list.js';
import {
  accountOf,
  addressedTo,
  type Box,
  copyOf,
  deliver,
  type Entry,
  forget,
  hideCopy,
  insOf,
  joinThread,
  rootOf,
  type Stored,
  senderLists,
  setRead,
  shown,
  threadIdOf,
  threadOf,
  unreadShown,
  viewFor,
  viewOf,
} from './memory-store.js';
import { MessageTable } from './message-table.js';
import { Retention, type RetentionOptions } from './retention.js';

/** Options of {@link MemoryPostOffice}. */
export type MemoryPostOfficeOptions = {
  /** Domain of the addresses. @default 'agents.localhost' */
  domain?: string;
  /** Where time comes from (quota windows, timestamps). @default the wall clock */
  clock?: Clock;
  /** Send quotas of every new account. @default { hourly: 10000, daily: 100000 } */
  limits?: Partial<QuotaLimits>;
  /**
   * Bounds the mail kept in memory: past `maxMessages`, the oldest messages that every recipient
   * has read (or deleted) are forgotten — gone from inboxes, sent lists, threads and idempotency
   * keys (a reply to one is a 404). Unread mail is never forgotten.
   * @default none: every message is kept while the process lives
   */
  retention?: RetentionOptions;
};

/**
 * The embedded post office: every account in memory, no I/O, instant wake-ups; inbox pages cost
 * O(page). Mail is lost when the process ends (`@mailroom/server`'s offices keep it).
 */
export class MemoryPostOffice implements PostOffice {
  readonly domain: string;
  private readonly clock: Clock;
  private readonly defaultLimits: QuotaLimits;
  private readonly boxes = new Map<string, Box>();
  private readonly keys = new Map<string, string>();
  private readonly messages = new MessageTable<Stored>(`msg_${randomBytes(4).toString('hex')}`);
  private readonly wake = new WakeUps();
  private readonly retention: Retention | undefined;
  private readonly leases = new LeaseTable({ now: () => this.clock.now() }, (a) => this.wake.notify(a));
  private kept = 0;
  private forgotten = 0;
  private lastIsoMs = Number.NaN;
  private lastIso = '';

  constructor(options: MemoryPostOfficeOptions = {}) {
    checkOfficeOptions('MemoryPostOffice', options);
    this.domain = options.domain ?? 'agents.localhost';
    this.clock = options.clock ?? systemClock;
    this.defaultLimits = { hourly: options.limits?.hourly ?? 10_000, daily: options.limits?.daily ?? 100_000 };
    this.retention = options.retention ? new Retention(options.retention, (stored) => this.forget(stored)) : undefined;
  }

  private forget(stored: Stored): void {
    forget(stored, this.messages);
    this.kept -= 1;
    this.forgotten += 1;
  }

  /** Messages kept now, and forgotten so far by the retention policy. */
  stats(): { messages: number; forgotten: number } {
    return { messages: this.kept, forgotten: this.forgotten };
  }

  async register(request: RegisterRequest): Promise<Registration> {
    const { agent_id } = parseOrThrow(RegisterRequest, request, 'registration');
    const address = `${agent_id}@${this.domain}`;
    if (this.boxes.has(address)) throw new ConflictError(`agent id ${agent_id} is taken`);
    const apiKey = newApiKey();
    const createdAt = this.isoNow();
    this.boxes.set(address, {
      address,
      agentId: agent_id,
      self: [address],
      createdAt,
      limits: { ...this.defaultLimits },
      usage: emptyUsage(),
      totalSent: 0,
      totalReceived: 0,
      unread: 0,
      inbox: new HideableList(shown),
      unreadInbox: new HideableList(unreadShown),
      bySender: new Map(),
      sent: new HideableList(shown),
      idempotency: new Map(),
    });
    this.keys.set(hashKey(apiKey), address);
    return { agent_id, api_key: apiKey, status: 'active', created_at: createdAt, email_address: address };
  }

  async authenticate(apiKey: string): Promise<string | undefined> {
    return this.keys.get(hashKey(apiKey));
  }

  /** Sets an account's send quotas (the server takes them as configuration). */
  setLimits(address: string, limits: Partial<QuotaLimits>): void {
    const box = this.box(address);
    box.limits = { ...box.limits, ...limits };
  }

  async send(from: string, request: SendRequest): Promise<SendResult> {
    const { request: req, to, cc, bcc, recipients: addresses } = planSend(request, this.domain);
    const sender = this.box(from);
    if (req.idempotency_key !== undefined) {
      const first = sender.idempotency.get(req.idempotency_key);
      if (first) return first;
    }
    const recipients = addresses.map((address) => this.recipient(address));
    let parent: Stored | undefined;
    if (req.in_reply_to != null) {
      parent = this.visible(from, req.in_reply_to);
      if (!parent) throw new NotFoundError(`message ${req.in_reply_to} not found`);
    }
    const now = this.clock.now();
    admitSend(sender.usage, sender.limits, now);
    // Every check passed: from here on nothing throws, so nothing is stored half-way.
    const createdAt = this.iso(now);
    const id = this.messages.nextId();
    // The message is its sender's copy (an outbound entry) as well.
    const stored: Stored = {
      stored: undefined as unknown as Stored,
      owner: sender,
      direction: 'outbound',
      readAt: null,
      starred: false,
      deleted: false,
      pos: 0,
      senderPos: -1,
      id,
      root: parent ? rootOf(parent) : undefined,
      threadId: undefined,
      from,
      fromAgentId: sender.agentId,
      // One recipient: its account's one-address list, shared (the views copy it).
      to: to.length === 1 && recipients.length === 1 ? (recipients[0] as Box).self : to,
      cc,
      bcc,
      subject: req.subject,
      bodyText: req.body_text ?? null,
      bodyHtml: req.body_html ?? null,
      inReplyTo: parent ? parent.id : null,
      createdAt,
      in0: undefined,
      insMore: undefined,
      thread: undefined,
      gone: false,
      idemKey: req.idempotency_key,
    };
    this.messages.add(stored);
    this.kept += 1;
    if (parent) joinThread(rootOf(parent), stored);
    stored.stored = stored;
    stored.pos = sender.sent.push(stored);
    sender.totalSent += 1;
    for (const box of recipients) deliver(box, stored);
    const result: SendResult = {
      message_id: id,
      thread_id: threadIdOf(stored),
      status: 'delivered',
      delivery_type: 'internal',
      message: viewOf(stored),
    };
    if (req.idempotency_key !== undefined) sender.idempotency.set(req.idempotency_key, result);
    for (const box of recipients) this.wake.notify(box.address);
    this.retention?.trim(() => this.kept);
    return result;
  }

  async inbox(address: string, query: InboxQuery = {}): Promise<InboxPage> {
    const q = checkInboxFast(query) ?? parseOrThrow(InboxQuery, query, 'inbox query');
    const box = this.box(address);
    let list: HideableList<Entry> = q.unread_only ? box.unreadInbox : box.inbox;
    const mode = inboxCursorMode(q.unread_only, q.from_address);
    if (q.from_address !== undefined) {
      const lists = senderLists(box, q.from_address);
      list = q.unread_only ? lists.unread : lists.all;
    }
    const start = q.cursor === undefined ? 0 : decodeCursor(q.cursor, mode);
    const page = list.page(start, q.limit);
    const messages = page.items.map((e) => viewOf(e));
    return {
      messages,
      total: messages.length,
      unread_count: box.unread,
      has_more: page.hasMore,
      // Every non-empty page has a cursor: with has_more false it is the tail, where a long poll
      // (or a push stream) waits for newer mail.
      cursor: page.hasMore || messages.length > 0 ? encodeCursor(mode, page.next) : (q.cursor ?? null),
    };
  }

  async message(address: string, messageId: string): Promise<Message> {
    const box = this.box(address);
    const entry = this.own(box, messageId);
    if (entry && !entry.deleted) {
      if (entry.direction === 'inbound' && entry.readAt === null) {
        setRead(box, entry, true, this.isoNow());
        this.leases.end(address, [messageId]);
        this.retention?.touched(entry.stored);
      }
      const view = viewOf(entry);
      this.retention?.trim(() => this.kept);
      return view;
    }
    const stored = this.visible(address, messageId);
    if (!stored || entry?.deleted) throw new NotFoundError(`message ${messageId} not found`);
    return viewFor(stored, box);
  }

  async markRead(address: string, messageIds: readonly string[], options: { unread?: boolean } = {}): Promise<number> {
    const box = this.box(address);
    if (!Array.isArray(messageIds) || messageIds.length === 0 || messageIds.length > 100) {
      throw ValidationError.single(['message_ids'], 'must list 1..100 message ids');
    }
    const entries: Entry[] = [];
    for (const id of messageIds) {
      const entry = typeof id === 'string' ? this.own(box, id) : undefined;
      if (!entry || entry.deleted) throw new NotFoundError(`message ${String(id)} not found`);
      entries.push(entry);
    }
    const read = options.unread !== true;
    const at = this.isoNow();
    this.leases.end(address, messageIds);
    let changed = 0;
    for (const entry of entries) {
      if (entry.direction !== 'inbound' || (entry.readAt !== null) === read) continue;
      setRead(box, entry, read, at);
      if (read) this.retention?.touched(entry.stored);
      changed += 1;
    }
    this.retention?.trim(() => this.kept);
    return changed;
  }

  async star(address: string, messageId: string): Promise<{ starred: boolean }> {
    const entry = this.own(this.box(address), messageId);
    if (!entry || entry.deleted) throw new NotFoundError(`message ${messageId} not found`);
    entry.starred = !entry.starred;
    return { starred: entry.starred };
  }

  async delete(address: string, messageId: string): Promise<void> {
    const box = this.box(address);
    const stored = this.messages.get(messageId);
    const entries = stored ? [...insOf(stored), stored].filter((e) => e.owner === box && !e.deleted) : [];
    if (entries.length === 0) throw new NotFoundError(`message ${messageId} not found`);
    for (const entry of entries) hideCopy(box, entry);
    this.leases.end(address, [messageId]);
    if (stored && this.retention) {
      this.retention.touched(stored);
      this.retention.trim(() => this.kept);
    }
  }

  async thread(address: string, threadId: string): Promise<Thread> {
    const box = this.box(address);
    const root = typeof threadId === 'string' ? this.root(threadId) : undefined;
    const thread = root && threadOf(root);
    const live = thread ? (thread.gone > 0 ? thread.messages.filter((m) => !m.gone) : thread.messages) : [];
    if (
      !root ||
      !thread ||
      live.length === 0 ||
      !(thread.participants.includes(address) || thread.hidden.includes(address))
    ) {
      throw new NotFoundError(`thread ${threadId} not found`);
    }
    const participants = [...thread.participants];
    if (!participants.includes(address)) participants.push(address);
    // Only ever a bcc recipient: the messages addressed to it, not the rest of the thread (as in mail).
    const seen = thread.participants.includes(address) ? live : live.filter((m) => addressedTo(m, address));
    return {
      thread_id: threadIdOf(root),
      subject: root.subject,
      participant_addresses: participants,
      messages: seen.map((m) => viewFor(m, box)),
    };
  }

  async sent(address: string, query: SentQuery = {}): Promise<SentPage> {
    const q = parseOrThrow(SentQuery, query, 'sent query');
    const box = this.box(address);
    const start = q.cursor === undefined ? 0 : decodeCursor(q.cursor, 's');
    const page = box.sent.page(start, q.limit);
    const messages = page.items.map((e) => viewOf(e));
    return {
      messages,
      total: messages.length,
      has_more: page.hasMore,
      cursor: page.hasMore ? encodeCursor('s', page.next) : null,
    };
  }

  async account(address: string): Promise<Account> {
    return accountOf(this.box(address), this.clock.now());
  }

  wakeups(address: string): Observable<void> {
    return this.wake.for(address);
  }

  /** The lease extension (worker pools on one address): leases held in memory beside the mail. */
  claim(address: string, query: ClaimQuery = {}): Promise<LeasedPage> {
    return this.leases.claim(address, query, (q) => this.inbox(address, q));
  }

  async renewLease(address: string, request: RenewRequest): Promise<RenewResult> {
    this.box(address);
    return this.leases.renew(address, request);
  }

  private box(address: string): Box {
    const box = typeof address === 'string' ? this.boxes.get(address) : undefined;
    if (!box) throw new NotFoundError(`no account ${String(address)}`);
    return box;
  }

  private recipient(address: string): Box {
    // A registered address is on this domain (its account was made as `<id>@<domain>`).
    const registered = this.boxes.get(address);
    if (registered) return registered;
    const at = address.lastIndexOf('@');
    if (address.slice(at + 1).toLowerCase() !== this.domain) {
      throw ValidationError.single(
        ['to'],
        `${address} is outside ${this.domain}: external delivery is not supported here`,
      );
    }
    const box = this.boxes.get(address);
    if (!box) throw new NotFoundError(`recipient ${address} is not registered`);
    return box;
  }

  /** The caller's own copy of a message: received (preferred) or sent. */
  private own(box: Box, messageId: string): Entry | undefined {
    const stored = this.messages.get(messageId);
    return stored && !stored.gone ? copyOf(stored, box) : undefined;
  }

  /** The first message of a thread. */
  private root(threadId: string): Stored | undefined {
    const m = threadId.startsWith('thr_') ? this.messages.get(`msg_${threadId.slice(4)}`) : undefined;
    return m && !m.root ? m : undefined;
  }

  /** A message that `address` may see: one of a thread it takes part in. */
  private visible(address: string, messageId: string): Stored | undefined {
    const stored = this.messages.get(messageId);
    if (!stored || stored.gone) return undefined;
    const thread = threadOf(rootOf(stored));
    if (thread.participants.includes(address)) return stored;
    return thread.hidden.includes(address) && addressedTo(stored, address) ? stored : undefined;
  }

  /** ISO time of `ms`; mail sent in the same millisecond shares one string. */
  private iso(ms: number): string {
    if (ms !== this.lastIsoMs) {
      this.lastIsoMs = ms;
      this.lastIso = new Date(ms).toISOString();
    }
    return this.lastIso;
  }

  private isoNow = (): string => this.iso(this.clock.now());
}
