import {
  type InboxPage,
  inboxStream,
  LocalMailbox,
  type Mailbox,
  MemoryPostOffice,
  type Message,
} from '@mailroom/core';
import { VirtualTime } from '@mailroom/core/testing';
import { describe, expect, it } from 'vitest';

/**
 * A mailbox whose server says it holds inbox requests (long poll) but answers every one at once,
 * and gives no wake-ups: the bad server of the probe. After `stopAfter` polls it stops answering,
 * so that a stream that loops without a floor cannot hang the test.
 */
function badServer(po: MemoryPostOffice, address: string, vt: VirtualTime, stopAfter: number) {
  const box = new LocalMailbox(po, address);
  const polls: number[] = [];
  const mailbox: Mailbox = {
    address,
    longPoll: true,
    send: (r) => box.send(r),
    inbox: (q) => {
      polls.push(vt.now());
      if (polls.length > stopAfter) return new Promise<InboxPage>(() => {});
      return box.inbox({ ...q, wait: undefined });
    },
    message: (id) => box.message(id),
    markRead: (ids, o) => box.markRead(ids, o),
    thread: (id) => box.thread(id),
    account: () => box.account(),
    sent: (q) => box.sent(q),
    star: (id) => box.star(id),
    delete: (id) => box.delete(id),
  };
  return { mailbox, polls };
}

describe('inbox stream against a server that announces long poll and answers at once', () => {
  it('polls no faster than its floor while no mail comes, and takes mail at the next poll', async () => {
    const vt = new VirtualTime(Date.UTC(2026, 0, 1));
    const po = new MemoryPostOffice({ clock: vt.scheduler });
    const a = (await po.register({ agent_id: 'alice' })).email_address;
    const b = (await po.register({ agent_id: 'bob' })).email_address;
    const { mailbox, polls } = badServer(po, b, vt, 5_000);
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
