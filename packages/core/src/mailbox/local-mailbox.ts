import type { Observable } from 'rxjs';
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
import type { Mailbox } from './mailbox.js';
import type { PostOffice } from './post-office-contract.js';

/** A {@link Mailbox} on a post office in the same process. */
export class LocalMailbox implements Mailbox {
  readonly address: string;
  private readonly postOffice: PostOffice;

  constructor(postOffice: PostOffice, address: string) {
    this.postOffice = postOffice;
    this.address = address;
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

  wakeups(): Observable<void> {
    return this.postOffice.wakeups(this.address);
  }
}
