import { filter, firstValueFrom, scan, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { LocalMailbox } from '../mailbox/local-mailbox.js';
import { MemoryPostOffice } from '../post-office/memory/memory-post-office.js';
import type { Message } from '../wire/model.js';
import { InFlight } from './in-flight.js';
import { inboxStream } from './inbox-stream.js';

/** A mailbox whose inbox stream takes its mail from `inboxPush`, as an `HttpMailbox` on a server with push does. */
class PushedMailbox extends LocalMailbox {
  readonly push = true;
  opened = 0;
  override inboxPush(query?: Parameters<LocalMailbox['inboxPush']>[0]) {
    this.opened += 1;
    return super.inboxPush(query);
  }
  // No wake-ups and no polling: every message must come through the push stream.
  override inbox(): never {
    throw new Error('the pushed stream does not poll');
  }
}

async function setup() {
  const po = new MemoryPostOffice();
  const a = (await po.register({ agent_id: 'alice' })).email_address;
  const b = (await po.register({ agent_id: 'bob' })).email_address;
  const send = (subject: string) => po.send(a, { to: [b], subject });
  return { po, b, send, mailbox: new PushedMailbox(po, b) };
}

describe('inboxStream over push', () => {
  it('emits unread mail as it lands, once, and skips what is in flight', async () => {
    const { send, mailbox } = await setup();
    await send('m0');
    const all = firstValueFrom(
      inboxStream(mailbox).pipe(
        scan((seen: Message[], some) => seen.concat(some), []),
        filter((seen) => seen.length >= 4),
      ),
    );
    for (const s of ['m1', 'm2', 'm3']) await send(s);
    expect((await all).map((m) => m.subject)).toEqual(['m0', 'm1', 'm2', 'm3']);
  });

  it('stops at maxInFlight and goes on from its cursor once mail settles (back-pressure)', async () => {
    const { send, mailbox } = await setup();
    for (let i = 0; i < 5; i++) await send(`m${i}`);
    const inFlight = new InFlight();
    const seen: Message[] = [];
    const sub = inboxStream(mailbox, { inFlight, maxInFlight: 2, limit: 2 }).subscribe((ms) => seen.push(...ms));
    const reach = async (n: number) => {
      while (seen.length < n) await new Promise<void>((resolve) => setImmediate(resolve));
    };
    await reach(2);
    for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    expect(seen.map((m) => m.subject)).toEqual(['m0', 'm1']); // paused while two are in flight
    const opened = mailbox.opened;
    inFlight.settle(seen.map((m) => m.message_id));
    await reach(4);
    expect(mailbox.opened).toBe(opened + 1);
    expect(seen.map((m) => m.subject)).toEqual(['m0', 'm1', 'm2', 'm3']);
    sub.unsubscribe();
  });

  it('delivers released mail again (a fresh sweep from the start), and nothing still in flight', async () => {
    const { send, mailbox } = await setup();
    for (const s of ['r0', 'r1']) await send(s);
    const inFlight = new InFlight();
    const seen: Message[] = [];
    const sub = inboxStream(mailbox, { inFlight }).subscribe((ms) => seen.push(...ms));
    while (seen.length < 2) await new Promise<void>((resolve) => setImmediate(resolve));
    inFlight.settle([(seen[0] as Message).message_id], true);
    while (seen.length < 3) await new Promise<void>((resolve) => setImmediate(resolve));
    expect(seen.map((m) => m.subject)).toEqual(['r0', 'r1', 'r0']);
    sub.unsubscribe();
    const firstTwo = await firstValueFrom(mailbox.inboxPush({ unread_only: true }).pipe(take(1), toArray()));
    expect(firstTwo[0]?.messages.map((m) => m.subject)).toEqual(['r0', 'r1']);
  });
});
