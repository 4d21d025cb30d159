import { randomBytes } from 'node:crypto';
import type { Observable } from 'rxjs';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { PostOffice } from '../../mailbox/post-office-contract.js';
import { type Clock, systemClock } from '../../time/clock.js';
import type { ClaimQuery, LeasedPage, RenewRequest, RenewResult } from '../../wire/lease.js';
import {
  type Account,
  type InboxPage,
  InboxQuery,
  type Message,
  type RegisterRequest,
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
import { LeaseTable } from '../kit/lease-table.js';
import { checkOfficeOptions } from '../kit/office-options.js';
import { admitSend, type QuotaLimits } from '../kit/quota.js';
import { planSend } from '../kit/send-plan.js';
import { WakeUps } from '../kit/wake-ups.js';
import { MemoryAccounts } from './memory-accounts.js';
import { deliver, forget, hideReceived, hideSent, received, senderList, setRead, viewFor } from './memory-copies.js';
import {
  ALL,
  accountOf,
  addressedTo,
  type Box,
  type Copy,
  DELETED,
  GONE,
  has,
  joinThread,
  newStored,
  rootOf,
  SENT_DELETED,
  SENT_STARRED,
  STARRED,
  type Stored,
  threadIdOf,
  threadOf,
  UNREAD,
  viewIn,
  viewOut,
  viewSent,
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
  private readonly accounts: MemoryAccounts;
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
    const limits = { hourly: options.limits?.hourly ?? 10_000, daily: options.limits?.daily ?? 100_000 };
    this.accounts = new MemoryAccounts(this.domain, limits, this.isoNow);
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
    return this.accounts.register(request);
  }

  async authenticate(apiKey: string): Promise<string | undefined> {
    return this.accounts.authenticate(apiKey);
  }

  /** Sets an account's send quotas (the server takes them as configuration). */
  setLimits(address: string, limits: Partial<QuotaLimits>): void {
    this.accounts.setLimits(address, limits);
  }

  async send(from: string, request: SendRequest): Promise<SendResult> {
    const { request: req, to, cc, bcc, recipients: addresses } = planSend(request, this.domain);
    const sender = this.accounts.box(from);
    if (req.idempotency_key !== undefined) {
      const first = sender.idempotency.get(req.idempotency_key);
      if (first) return first;
    }
    const recipients: Box[] = [];
    for (const address of addresses) recipients.push(this.accounts.recipient(address));
    let parent: Stored | undefined;
    if (req.in_reply_to != null) {
      parent = this.visible(from, req.in_reply_to);
      if (!parent) throw new NotFoundError(`message ${req.in_reply_to} not found`);
    }
    const now = this.clock.now();
    admitSend(sender.usage, sender.limits, now);
    // Every check passed: from here on nothing throws, so nothing is stored half-way.
    const stored = newStored({
      id: this.messages.nextId(),
      sender,
      recipients,
      parent,
      to,
      cc,
      bcc,
      subject: req.subject,
      bodyText: req.body_text ?? null,
      bodyHtml: req.body_html ?? null,
      createdAt: this.iso(now),
      idemKey: req.idempotency_key,
    });
    this.messages.add(stored);
    this.kept += 1;
    if (parent) joinThread(rootOf(parent), stored);
    deliver(stored, recipients);
    // The thread id made once for both (a message alone in its thread keeps none).
    const threadId = threadIdOf(stored);
    const result: SendResult = {
      message_id: stored.id,
      thread_id: threadId,
      status: 'delivered',
      delivery_type: 'internal',
      message: viewSent(stored, threadId),
    };
    if (req.idempotency_key !== undefined) sender.idempotency.set(req.idempotency_key, result);
    for (const box of recipients) this.wake.notify(box.address);
    this.retention?.trim(() => this.kept);
    return result;
  }

  async inbox(address: string, query: InboxQuery = {}): Promise<InboxPage> {
    const q = checkInboxFast(query) ?? parseOrThrow(InboxQuery, query, 'inbox query');
    const box = this.accounts.box(address);
    const list = q.from_address === undefined ? box.inbox : senderList(box, q.from_address);
    const mode = inboxCursorMode(q.unread_only, q.from_address);
    const start = q.cursor === undefined ? 0 : decodeCursor(q.cursor, mode);
    const page = list.page(start, q.limit, q.unread_only ? UNREAD : ALL);
    const messages = page.items.map(viewIn);
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
    const box = this.accounts.box(address);
    const stored = this.live(messageId);
    // The caller's own copy: received (preferred) or sent; a deleted one is not found.
    const copy = stored && received(stored, box);
    if (copy && !has(copy, DELETED)) {
      if (copy.readAt === null) {
        setRead(box, copy, true, this.isoNow());
        this.leases.end(address, [messageId]);
        this.retention?.touched(copy.stored);
      }
      const view = viewIn(copy);
      this.retention?.trim(() => this.kept);
      return view;
    }
    const sent = !copy && stored?.sender === box;
    if (sent && !has(stored, SENT_DELETED)) return viewOut(stored);
    const visible = this.visible(address, messageId);
    if (!visible || copy || sent) throw new NotFoundError(`message ${messageId} not found`);
    return viewFor(visible, box);
  }

  async markRead(address: string, messageIds: readonly string[], options: { unread?: boolean } = {}): Promise<number> {
    const box = this.accounts.box(address);
    if (!Array.isArray(messageIds) || messageIds.length === 0 || messageIds.length > 100) {
      throw ValidationError.single(['message_ids'], 'must list 1..100 message ids');
    }
    // Only received copies have a read state; the caller's sent mail is accepted and left as it is.
    const copies: Copy[] = [];
    for (const id of messageIds) {
      const stored = typeof id === 'string' ? this.live(id) : undefined;
      const copy = stored && received(stored, box);
      if (copy && !has(copy, DELETED)) copies.push(copy);
      else if (copy || stored?.sender !== box || has(stored, SENT_DELETED)) {
        throw new NotFoundError(`message ${String(id)} not found`);
      }
    }
    const read = options.unread !== true;
    const at = this.isoNow();
    this.leases.end(address, messageIds);
    let changed = 0;
    for (const copy of copies) {
      if ((copy.readAt !== null) === read) continue;
      setRead(box, copy, read, at);
      if (read) this.retention?.touched(copy.stored);
      changed += 1;
    }
    this.retention?.trim(() => this.kept);
    return changed;
  }

  async star(address: string, messageId: string): Promise<{ starred: boolean }> {
    const box = this.accounts.box(address);
    const stored = this.live(messageId);
    const copy = stored && received(stored, box);
    if (copy && !has(copy, DELETED)) {
      copy.flags ^= STARRED;
      return { starred: has(copy, STARRED) };
    }
    if (copy || stored?.sender !== box || has(stored, SENT_DELETED)) {
      throw new NotFoundError(`message ${messageId} not found`);
    }
    stored.flags ^= SENT_STARRED;
    return { starred: has(stored, SENT_STARRED) };
  }

  async delete(address: string, messageId: string): Promise<void> {
    const box = this.accounts.box(address);
    const stored = this.messages.get(messageId);
    // Every copy the caller holds goes: the received one, and the sent one (mail to oneself).
    const copy = stored && received(stored, box);
    const inbound = copy !== undefined && !has(copy, DELETED);
    const outbound = stored?.sender === box && !has(stored, SENT_DELETED);
    if (!stored || (!inbound && !outbound)) throw new NotFoundError(`message ${messageId} not found`);
    if (inbound) hideReceived(copy);
    if (outbound) hideSent(stored);
    this.leases.end(address, [messageId]);
    if (this.retention) {
      this.retention.touched(stored);
      this.retention.trim(() => this.kept);
    }
  }

  async thread(address: string, threadId: string): Promise<Thread> {
    const box = this.accounts.box(address);
    const root = typeof threadId === 'string' ? this.root(threadId) : undefined;
    const thread = root && threadOf(root);
    const live = thread ? (thread.gone > 0 ? thread.messages.filter((m) => !has(m, GONE)) : thread.messages) : [];
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
    const box = this.accounts.box(address);
    const start = q.cursor === undefined ? 0 : decodeCursor(q.cursor, 's');
    const page = box.sent.page(start, q.limit);
    const messages = page.items.map(viewOut);
    return {
      messages,
      total: messages.length,
      has_more: page.hasMore,
      cursor: page.hasMore ? encodeCursor('s', page.next) : null,
    };
  }

  async account(address: string): Promise<Account> {
    return accountOf(this.accounts.box(address), this.clock.now());
  }

  wakeups(address: string): Observable<void> {
    return this.wake.for(address);
  }

  /** The lease extension (worker pools on one address): leases held in memory beside the mail. */
  claim(address: string, query: ClaimQuery = {}): Promise<LeasedPage> {
    return this.leases.claim(address, query, (q) => this.inbox(address, q));
  }

  async renewLease(address: string, request: RenewRequest): Promise<RenewResult> {
    this.accounts.box(address);
    return this.leases.renew(address, request);
  }

  /** A message not forgotten. */
  private live(messageId: string): Stored | undefined {
    const stored = this.messages.get(messageId);
    return stored && !has(stored, GONE) ? stored : undefined;
  }

  /** The first message of a thread. */
  private root(threadId: string): Stored | undefined {
    const m = threadId.startsWith('thr_') ? this.messages.get(`msg_${threadId.slice(4)}`) : undefined;
    return m && m.x?.root === undefined ? m : undefined;
  }

  /** A message that `address` may see: one of a thread it takes part in. */
  private visible(address: string, messageId: string): Stored | undefined {
    const stored = this.live(messageId);
    if (!stored) return undefined;
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
