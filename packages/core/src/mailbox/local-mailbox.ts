import { Observable } from 'rxjs';
import { NotFoundError } from '../errors.js';
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
import { runInboxFeed } from './inbox-feed.js';
import type { Mailbox } from './mailbox.js';
import type { PostOffice } from './post-office-contract.js';

/** A {@link Mailbox} on a post office in the same process. */
export class LocalMailbox implements Mailbox {
  readonly address: string;
  private readonly postOffice: PostOffice;

  /**
   * True when `options.leases` makes this mailbox one consumer of a worker pool on its address and
   * the post office has the lease extension: the inbox stream then claims its mail.
   */
  readonly leases: boolean;

  constructor(postOffice: PostOffice, address: string, options: { leases?: boolean } = {}) {
    this.postOffice = postOffice;
    this.address = address;
    this.leases = options.leases === true && postOffice.claim !== undefined && postOffice.renewLease !== undefined;
  }

  send(request: SendRequest): Promise<SendResult> {
    return this.postOffice.send(this.address, request);
  }

  inbox(query?: InboxQuery): Promise<InboxPage> {
    return this.postOffice.inbox(this.address, query);
  }

  message(messageId: string): Promise<Message> {
    return this.postOffice.message(this.address, messageId);
  }

  markRead(messageIds: readonly string[], options?: { unread?: boolean }): Promise<number> {
    return this.postOffice.markRead(this.address, messageIds, options);
  }

  thread(threadId: string): Promise<Thread> {
    return this.postOffice.thread(this.address, threadId);
  }

  account(): Promise<Account> {
    return this.postOffice.account(this.address);
  }

  sent(query?: SentQuery): Promise<SentPage> {
    return this.postOffice.sent(this.address, query);
  }

  star(messageId: string): Promise<{ starred: boolean }> {
    return this.postOffice.star(this.address, messageId);
  }

  delete(messageId: string): Promise<void> {
    return this.postOffice.delete(this.address, messageId);
  }

  claim(query?: ClaimQuery): Promise<LeasedPage> {
    if (!this.postOffice.claim) return Promise.reject(new NotFoundError('this post office has no lease extension'));
    return this.postOffice.claim(this.address, query);
  }

  renewLease(request: RenewRequest): Promise<RenewResult> {
    if (!this.postOffice.renewLease) {
      return Promise.reject(new NotFoundError('this post office has no lease extension'));
    }
    return this.postOffice.renewLease(this.address, request);
  }

  wakeups(): Observable<void> {
    return this.postOffice.wakeups(this.address);
  }

  /**
   * The inbox as mail lands (the push extension's semantics, over the post office's wake-ups).
   * The inbox stream does not use it in process: wake-ups cost nothing there.
   */
  inboxPush(query: PushQuery = {}): Observable<InboxPage> {
    return new Observable<InboxPage>((subscriber) => {
      const stop = new AbortController();
      const { cursor, ...filters } = query;
      runInboxFeed({
        read: (at) => this.postOffice.inbox(this.address, { ...filters, ...(at !== undefined ? { cursor: at } : {}) }),
        wakeups: this.postOffice.wakeups(this.address),
        cursor,
        deliver: (page) => subscriber.next(page),
        signal: stop.signal,
        rereadMs: 30_000,
      }).then(
        () => subscriber.complete(),
        (err: unknown) => subscriber.error(err),
      );
      return () => stop.abort();
    });
  }
}
