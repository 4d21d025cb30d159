import { describe, expect, it } from 'vitest';
import { LocalMailbox } from '../mailbox/local-mailbox.js';
import type { Mailbox } from '../mailbox/mailbox.js';
import { MemoryPostOffice } from '../post-office/memory/memory-post-office.js';
import { VirtualTime } from '../testing/index.js';
import type { InboxQuery } from '../wire/model.js';
import { InFlight } from './in-flight.js';
import { inboxStream } from './inbox-stream.js';

/** A real LocalMailbox that records when it was polled, and can be told to fail or to drop wake-ups. */
class RecordingMailbox extends LocalMailbox {
  polls: { at: number; query: InboxQuery | undefined }[] = [];
  failures = 0;
  constructor(
    po: MemoryPostOffice,
    address: string,
    private readonly vt: VirtualTime,
  ) {
    super(po, address);
  }
  override async inbox(query?: InboxQuery) {
    this.polls.push({ at: this.vt.now(), query });
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('connection reset');
    }
    return super.inbox(query);
  }
}

async function setup() {
  const vt = new VirtualTime(Date.UTC(2026, 0, 1));
  const po = new MemoryPostOffice({ clock: vt.scheduler });
  const a = (await po.register({ agent_id: 'alice' })).email_address;
  const b = (await po.register({ agent_id: 'bob' })).email_address;
  const box = new RecordingMailbox(po, b, vt);
  const send = (n: number) =>
    Promise.all(Array.from({ length: n }, (_, i) => po.send(a, { to: [b], subject: `m${i}` })));
  /** The same mailbox without wake-ups: polling is all it has. */
  const noWake: Mailbox = {
    address: b,
    send: (r) => box.send(r),
    inbox: (q) => box.inbox(q),
    message: (id) => box.message(id),
    markRead: (ids, o) => box.markRead(ids, o),
    thread: (id) => box.thread(id),
    account: () => box.account(),
    sent: (q) => box.sent(q),
    star: (id) => box.star(id),
    delete: (id) => box.delete(id),
  };
  return { vt, po, a, b, box, noWake, send };
}

const since = (polls: { at: number }[], t0: number) => polls.map((p) => p.at - t0);

describe('inboxStream', () => {
  it('emits unread mail oldest first and marks nothing read itself', async () => {
    const { vt, box, send, po, b } = await setup();
    await send(3);
    const got: string[] = [];
    const sub = inboxStream(box, { scheduler: vt.scheduler }).subscribe((ms) => got.push(...ms.map((m) => m.subject)));
    await vt.settle();
    expect(got).toEqual(['m0', 'm1', 'm2']);
    expect((await po.inbox(b, { unread_only: true })).messages).toHaveLength(3);
    sub.unsubscribe();
  });

  it('re-polls at once while pages come back full', async () => {
    const { vt, box, send } = await setup();
    await send(5);
    const batches: number[] = [];
    const sub = inboxStream(box, { scheduler: vt.scheduler, limit: 2 }).subscribe((ms) => batches.push(ms.length));
    await vt.settle();
    expect(batches).toEqual([2, 2, 1]);
    expect(new Set(box.polls.map((p) => p.at)).size).toBe(1);
    sub.unsubscribe();
  });

  it('backs off while the inbox stays empty, doubling up to the maximum', async () => {
    const { vt, box, noWake } = await setup();
    const t0 = vt.now();
    const sub = inboxStream(noWake, { scheduler: vt.scheduler, minBackoffMs: 50, maxBackoffMs: 400 }).subscribe();
    await vt.advance(2000);
    expect(since(box.polls, t0)).toEqual([0, 50, 150, 350, 750, 1150, 1550, 1950]);
    sub.unsubscribe();
  });

  it('starts the back-off again once mail arrives', async () => {
    const { vt, box, noWake, send } = await setup();
    const t0 = vt.now();
    const got: number[] = [];
    const sub = inboxStream(noWake, { scheduler: vt.scheduler, minBackoffMs: 50, maxBackoffMs: 400 }).subscribe(() =>
      got.push(vt.now() - t0),
    );
    await vt.advance(1000); // polls at 0, 50, 150, 350, 750
    await send(1);
    await vt.advance(1000);
    expect(got).toEqual([1150]);
    expect(since(box.polls, t0).slice(5, 8)).toEqual([1150, 1200, 1250]);
    sub.unsubscribe();
  });

  it('polls at once on a wake-up instead of waiting out the idle delay', async () => {
    const { vt, box, send } = await setup();
    const t0 = vt.now();
    const got: number[] = [];
    const sub = inboxStream(box, { scheduler: vt.scheduler, heartbeatMs: 30_000 }).subscribe(() =>
      got.push(vt.now() - t0),
    );
    await vt.advance(1234);
    expect(box.polls).toHaveLength(1);
    await send(1);
    await vt.settle();
    expect(got).toEqual([1234]);
    await vt.advance(30_000);
    expect(since(box.polls, t0)).toEqual([0, 1234, 31_234]);
    sub.unsubscribe();
  });

  it('retries failed polls with exponential backoff and jitter, and never errors', async () => {
    const { vt, box, send } = await setup();
    await send(1);
    box.failures = 4;
    const t0 = vt.now();
    let error: unknown;
    const got: number[] = [];
    const randoms = [0, 1, 0.5, 0.5];
    const sub = inboxStream(box, {
      scheduler: vt.scheduler,
      retryMinMs: 100,
      jitter: 0.2,
      random: () => randoms.shift() ?? 0.5,
    }).subscribe({ next: () => got.push(vt.now() - t0), error: (e) => (error = e) });
    await vt.advance(5000);
    // Delays: 100 * 0.8, 200 * 1.2, 400 * 1.0, 800 * 1.0
    expect(since(box.polls, t0).slice(0, 5)).toEqual([0, 80, 320, 720, 1520]);
    expect(got).toEqual([1520]);
    expect(error).toBeUndefined();
    sub.unsubscribe();
  });

  it('never re-emits a message still in flight, and does once it is released', async () => {
    const { vt, noWake, send } = await setup();
    await send(1);
    const inFlight = new InFlight();
    const got: string[] = [];
    const sub = inboxStream(noWake, {
      scheduler: vt.scheduler,
      inFlight,
      minBackoffMs: 10,
      maxBackoffMs: 10,
    }).subscribe((ms) => got.push(...ms.map((m) => m.message_id)));
    await vt.advance(500);
    expect(got).toHaveLength(1);
    inFlight.settle(got, true);
    await vt.settle();
    expect(got).toHaveLength(2);
    expect(got[1]).toBe(got[0]);
    sub.unsubscribe();
  });

  it('stops polling while too many messages are in flight, and resumes as they settle', async () => {
    const { vt, box, send } = await setup();
    await send(5);
    const inFlight = new InFlight();
    const got: string[] = [];
    const sub = inboxStream(box, { scheduler: vt.scheduler, inFlight, limit: 2, maxInFlight: 2 }).subscribe((ms) =>
      got.push(...ms.map((m) => m.message_id)),
    );
    await vt.advance(100_000);
    expect(got).toHaveLength(2);
    const polls = box.polls.length;
    await box.markRead(got);
    inFlight.settle(got);
    await vt.settle();
    expect(got).toHaveLength(4);
    expect(box.polls.length).toBe(polls + 1);
    sub.unsubscribe();
  });

  it('stops cleanly on unsubscribe: no more polls and nothing left scheduled', async () => {
    const { vt, box, noWake, send } = await setup();
    const sub = inboxStream(noWake, { scheduler: vt.scheduler }).subscribe();
    await vt.advance(300);
    sub.unsubscribe();
    const polls = box.polls.length;
    expect(vt.pending).toBe(0);
    await send(1);
    await vt.advance(60_000);
    expect(box.polls.length).toBe(polls);
  });
});

describe('inboxStream on the default schedulers', () => {
  async function office() {
    const po = new MemoryPostOffice();
    const a = (await po.register({ agent_id: 'alice' })).email_address;
    const b = (await po.register({ agent_id: 'bob' })).email_address;
    return { po, a, b, box: new LocalMailbox(po, b) };
  }
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('an idle stream polls on a wake-up before work already queued on the event loop', async () => {
    const { po, a, box } = await office();
    const order: string[] = [];
    const inFlight = new InFlight();
    const sub = inboxStream(box, { inFlight }).subscribe((page) => {
      order.push(`page of ${page.length}`);
      inFlight.settle(page.map((m) => m.message_id));
    });
    await nextTurn(); // the first sweep finds nothing
    setImmediate(() => order.push('work queued before the mail'));
    await po.send(a, { to: [box.address], subject: 'answer' });
    await nextTurn();
    await nextTurn();
    expect(order).toEqual(['page of 1', 'work queued before the mail']);
    sub.unsubscribe();
  });

  it('a busy stream batches: mail that lands while one is in flight comes in one page', async () => {
    const { po, a, box } = await office();
    const pages: number[] = [];
    const inFlight = new InFlight();
    const sub = inboxStream(box, { inFlight }).subscribe((page) => pages.push(page.length));
    await nextTurn();
    await po.send(a, { to: [box.address], subject: 'first' }); // idle: polled at once
    await nextTurn();
    for (let i = 0; i < 5; i++) await po.send(a, { to: [box.address], subject: `more ${i}` });
    await nextTurn();
    await nextTurn();
    expect(pages).toEqual([1, 5]);
    sub.unsubscribe();
  });
});
