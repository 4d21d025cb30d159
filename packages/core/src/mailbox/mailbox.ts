import type { Observable } from 'rxjs';
import type { ClaimQuery, LeasedPage, RenewRequest, RenewResult } from '../wire/lease.js';
import type {
  Account,
  InboxPage,
  InboxQuery,
  Message,
  SendRequest,
  SendResult,
  SentPage,
  SentQuery,
  Thread,
} from '../wire/model.js';
import type { PushQuery } from '../wire/push.js';

/**
 * One agent's view of its account: exactly the calls of the Agent Email API. `LocalMailbox`
 * serves it in process; `HttpMailbox` (`@mailroom/http`) over the network.
 */
export interface Mailbox {
  /** This mailbox's own address. */
  readonly address: string;
  send(request: SendRequest): Promise<SendResult>;
  /**
   * One page of the inbox. `options.signal` gives up a request in progress (a long poll held by
   * the server, when the inbox stream closes): it rejects and nothing is marked read.
   */
  inbox(query?: InboxQuery, options?: { signal?: AbortSignal }): Promise<InboxPage>;
  /** Reads one message (marks an inbound message read). */
  message(messageId: string): Promise<Message>;
  /** Marks messages read (or unread again with `{ unread: true }`). */
  markRead(messageIds: readonly string[], options?: { unread?: boolean }): Promise<number>;
  thread(threadId: string): Promise<Thread>;
  account(): Promise<Account>;
  /** One page of the mail this account sent (`GET /email/sent`). */
  sent(query?: SentQuery): Promise<SentPage>;
  /** Toggles the star of a message in this account's view. */
  star(messageId: string): Promise<{ starred: boolean }>;
  /** Removes a message from this account's view only (the others keep theirs). */
  delete(messageId: string): Promise<void>;
  /**
   * Optional: true when the server holds an inbox request that carries `wait` until mail arrives
   * (long poll); the inbox stream then waits on the server instead of polling.
   */
  readonly longPoll?: boolean;
  /**
   * Optional: emits when new mail may have arrived, so an inbox stream polls at once. A mailbox
   * without it is polled with back-off only.
   */
  wakeups?(): Observable<void>;
  /**
   * Optional: true when the inbox stream should take its mail from {@link Mailbox.inboxPush} (a
   * network mailbox whose server offers push: one held connection instead of a request per page).
   */
  readonly push?: boolean;
  /**
   * Optional (push): the pages of the inbox from `query.cursor` on (from the start without one),
   * as mail lands — the backlog first, then each new message once, in order. Each page's `cursor`
   * resumes after it. A network mailbox reconnects by itself from the last page it delivered (no
   * loss, no duplicates); it errors only when push cannot be had (`NotFoundError`: not offered,
   * `AuthError`), and the caller falls back to polling.
   */
  inboxPush?(query?: PushQuery): Observable<InboxPage>;
  /**
   * Optional: true when the lease extension is offered (worker pools on one address); the inbox
   * stream then claims mail instead of listing it, and renews the leases of what is in flight.
   */
  readonly leases?: boolean;
  /** Optional (lease extension): claims unread mail that no other consumer holds. */
  claim?(query?: ClaimQuery, options?: { signal?: AbortSignal }): Promise<LeasedPage>;
  /** Optional (lease extension): renews, or with `lease_seconds: 0` releases, what a lease still holds. */
  renewLease?(request: RenewRequest): Promise<RenewResult>;
}
