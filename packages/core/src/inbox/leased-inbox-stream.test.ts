import { describe, expect, it } from 'vitest';
import { LocalMailbox } from '../mailbox/local-mailbox.js';
import { MemoryPostOffice } from '../post-office/memory/memory-post-office.js';
import { VirtualTime } from '../testing/index.js';
import type { Message } from '../wire/model.js';
import { InFlight } from './in-flight.js';
import { inboxStream } from './inbox-stream.js';

/** A worker pool on one address: consumers of one memory post office, in virtual time. */
async function pool(mail: number) {
  const vt = new VirtualTime(Date.UTC(2026, 0, 1));
  const po = new MemoryPostOffice({ clock: vt.scheduler });
  const a = (await po.register({ agent_id: 'alice' })).email_address;
  const b = (await po.register({ agent_id: 'bob' })).email_address;
  for (let i = 0; i < mail; i++) await po.send(a, { to: [b], subject: `m${i}` });
  const consumer = (options: { leaseSeconds?: number; limit?: number } = {}) => {
    const inFlight = new InFlight();
    const seen: Message[] = [];
    const box = new LocalMailbox(po, b, { leases: true });
    const sub = inboxStream(box, { scheduler: vt.scheduler, inFlight, ...options }).subscribe((ms) => seen.push(...ms));
    /** Handles what arrived: marks it read, then settles it (as an agent does). */
    const ack = async (ms: Message[] = seen) => {
      const ids = ms.map((m) => m.message_id).filter((id) => inFlight.has(id));
      if (ids.length) await box.markRead(ids);
      inFlight.settle(ids);
    };
    return { seen, inFlight, sub, ack, box };
  };
  return { vt, po, a, b, consumer };
}
const subjects = (ms: Message[]) => ms.map((m) => m.subject);

describe('the inbox stream of a worker pool (lease extension)', () => {
  it('claims instead of listing only when the mailbox is one of a pool', async () => {
    const { po, b } = await pool(0);
    expect(new LocalMailbox(po, b).leases).toBe(false);
    expect(new LocalMailbox(po, b, { leases: true }).leases).toBe(true);
  });

  it('gives the consumers of one address different messages, every one to exactly one of them', async () => {
    const { vt, consumer } = await pool(40);
    const one = consumer({ limit: 5 });
    const two = consumer({ limit: 5 });
    for (let round = 0; round < 20 && one.seen.length + two.seen.length < 40; round++) {
      await vt.advance(10);
      await one.ack();
      await two.ack();
    }
    const all = [...subjects(one.seen), ...subjects(two.seen)];
    expect(all).toHaveLength(40);
    expect(new Set(all).size).toBe(40);
    expect(one.seen.length).toBeGreaterThan(0);
    expect(two.seen.length).toBeGreaterThan(0);
    one.sub.unsubscribe();
    two.sub.unsubscribe();
  });

  it('renews the lease of a long handler: no other consumer gets its message', async () => {
    const { vt, consumer } = await pool(1);
    const slow = consumer({ leaseSeconds: 3 });
    await vt.advance(1);
    expect(subjects(slow.seen)).toEqual(['m0']);
    const other = consumer({ leaseSeconds: 3 });
    await vt.advance(60_000); // a minute of handling: twenty leases long
    expect(other.seen).toEqual([]);
    await slow.ack();
    slow.sub.unsubscribe();
    await vt.advance(10_000);
    expect(other.seen).toEqual([]);
    other.sub.unsubscribe();
  });

  it('gives a crashed consumer’s mail to another once its lease runs out, exactly once', async () => {
    const { vt, consumer } = await pool(2);
    const crashed = consumer({ leaseSeconds: 5 });
    await vt.advance(1);
    expect(subjects(crashed.seen)).toEqual(['m0', 'm1']);
    crashed.sub.unsubscribe(); // gone without settling: no renewals, no release
    const survivor = consumer({ leaseSeconds: 5 });
    await vt.advance(4_000);
    expect(survivor.seen).toEqual([]);
    await vt.advance(6_000);
    expect(subjects(survivor.seen)).toEqual(['m0', 'm1']);
    await survivor.ack();
    await vt.advance(30_000);
    expect(survivor.seen).toHaveLength(2);
    survivor.sub.unsubscribe();
  });

  it('releases what a consumer gives back: it is claimed again at once, not after the lease', async () => {
    const { vt, consumer } = await pool(1);
    const one = consumer({ leaseSeconds: 600 });
    await vt.advance(1);
    expect(subjects(one.seen)).toEqual(['m0']);
    one.inFlight.settle([one.seen[0]?.message_id as string], true);
    await vt.advance(1);
    expect(subjects(one.seen)).toEqual(['m0', 'm0']);
    one.sub.unsubscribe();
  });
});
