import type { Observable } from 'rxjs';
import type { ClaimQuery, LeasedPage, RenewRequest, RenewResult } from '../wire/lease.js';
import type {
  Account,
  InboxPage,
  InboxQuery,
  Message,
  RegisterRequest,
  Registration,
  SendRequest,
  SendResult,
  SentPage,
  SentQuery,
  Thread,
} from '../wire/model.js';

/**
 * The store of many accounts: the Agent Email API with the caller's address made explicit.
 * Every call validates its input and throws a `MailroomError` (leaving the store unchanged) on bad input.
 */
export interface PostOffice {
  /** The domain of this post office's addresses (`<agent_id>@<domain>`). */
  readonly domain: string;
  /** Creates an account; the API key is returned once and stored hashed. */
  register(request: RegisterRequest): Promise<Registration>;
  /** The address behind an API key, or `undefined`. */
  authenticate(apiKey: string): Promise<string | undefined>;
  /** Sends as `from`. Throws `RateLimitedError` over quota, `NotFoundError` for an unknown recipient. */
  send(from: string, request: SendRequest): Promise<SendResult>;
  /** A page of `address`'s inbox, oldest first. */
  inbox(address: string, query?: InboxQuery): Promise<InboxPage>;
  /** One message; marks an inbound message read. */
  message(address: string, messageId: string): Promise<Message>;
  /** Marks messages read (or unread again); all or nothing. Returns how many changed. */
  markRead(address: string, messageIds: readonly string[], options?: { unread?: boolean }): Promise<number>;
  /** Toggles the star; returns the new state. */
  star(address: string, messageId: string): Promise<{ starred: boolean }>;
  /** Removes a message from `address`'s view only. */
  delete(address: string, messageId: string): Promise<void>;
  /** A thread, for a participant only. */
  thread(address: string, threadId: string): Promise<Thread>;
  /** A page of sent mail, oldest first. */
  sent(address: string, query?: SentQuery): Promise<SentPage>;
  /** The account with its quotas. */
  account(address: string): Promise<Account>;
  /** Emits whenever new mail lands for `address`. Hot; never completes while the office runs. */
  wakeups(address: string): Observable<void>;
  /**
   * Optional (the lease extension; a post office that has it offers worker pools): claims up to
   * `limit` unread inbound messages that no other claim holds, leased for `lease_seconds`. A
   * claimed message comes back to claims when its lease runs out or is released; marking it read
   * (or deleting it) ends the lease. `wait` is ignored here (the server holds the request).
   */
  claim?(address: string, query?: ClaimQuery): Promise<LeasedPage>;
  /** Optional (lease extension): renews, or with `lease_seconds: 0` releases, what a lease still holds. */
  renewLease?(address: string, request: RenewRequest): Promise<RenewResult>;
}
