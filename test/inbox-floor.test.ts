import {
  type InboxPage,
  type InboxQuery,
  inboxStream,
  LocalMailbox,
  MemoryPostOffice,
  type Message,
} from '@mailroom/core';
import { VirtualTime } from '@mailroom/core/testing';
import { describe, expect, it } from 'vitest';

/**
 * A mailbox whose server says it holds inbox requests (long poll) but answers every one at once:
 * the bad server of the probe. After `stopAfter` polls it stops answering, so that a stream that
 * loops without a floor cannot hang the test.
 */
class AnswersAtOnce extends LocalMailbox {
  readonly longPoll = true;
  readonly polls: number[] = [];
  constructor(
    po: MemoryPostOffice,
    address: string,
    private readonly vt: VirtualTime,
    private readonly stopAfter: number,
  ) {
    super(po, address);
  }
  override inbox(query: InboxQuery = {}): Promise<InboxPage> {
    this.polls.push(this.vt.now());
    if (this.polls.length > this.stopAfter) return new Promise<InboxPage>(() => {});
    return super.inbox({ ...query, wait: undefined });
  }
}

describe('inbox stream against a server that announces long poll and answers at once', () => {
  it('polls no faster than its floor while no mail comes, and takes mail at the next poll', async () => {
    const vt = new VirtualTime(Date.UTC(2026, 0, 1));
    const po = new MemoryPostOffice({ clock: vt.scheduler });
    const a = (await po.register({ agent_id: 'alice' })).email_address;
    const b = (await po.register({ agent_id: 'bob' })).email_address;
    const mailbox = new AnswersAtOnce(po, b, vt, 5_000);
    const polls = mailbox.polls;
    const pages: Message[][] = [];
    const sub = inboxStream(mailbox, { scheduler: vt.scheduler, minPollIntervalMs: 100 }).subscribe((p) =>
      pages.push(p),
    );
    try {
      await vt.advance(10_000);
      // 10 s at one poll per 100 ms at most (and the first at once).
      expect(polls.length).toBeLessThanOrEqual(101);
      expect(polls.length).toBeGreaterThan(50);
      for (let i = 1; i < polls.length; i++)
        expect((polls[i] as number) - (polls[i - 1] as number)).toBeGreaterThanOrEqual(100);
      await po.send(a, { to: [b], subject: 'hello' });
      const sentAt = vt.now();
      await vt.advance(100);
      expect(pages.flat().map((m) => m.subject)).toEqual(['hello']);
      expect(vt.now() - sentAt).toBeLessThanOrEqual(100);
    } finally {
      sub.unsubscribe();
    }
  });
});
