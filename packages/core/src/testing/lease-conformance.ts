import { NotFoundError, ValidationError } from '../errors.js';
import type { PostOffice } from '../mailbox/post-office-contract.js';
import { ManualClock } from './manual-clock.js';
import type { PostOfficeFactoryOptions } from './post-office-conformance.js';
import { vitest } from './vitest.js';

/** A post office with the lease extension (`claim`, `renewLease`). */
export type Leasing = PostOffice & Required<Pick<PostOffice, 'claim' | 'renewLease'>>;

/**
 * The lease extension's conformance suite (worker pools on one address), in virtual time: call it
 * with a factory of a post office that has `claim` and `renewLease`.
 */
export function leaseConformance(
  name: string,
  factory: (options: PostOfficeFactoryOptions) => Leasing | Promise<Leasing>,
): void {
  const { describe, expect, it } = vitest();
  const domain = 'agents.test';
  async function setup(mail = 0) {
    const clock = new ManualClock();
    const po = await factory({ clock, limits: { hourly: 1000, daily: 10000 }, domain });
    const [a, b] = await Promise.all(
      ['alice', 'bob'].map(async (id) => (await po.register({ agent_id: id })).email_address),
    );
    const ids: string[] = [];
    for (let i = 0; i < mail; i++) {
      clock.advance(1);
      ids.push((await po.send(a as string, { to: [b as string], subject: `m${i}` })).message_id);
    }
    return { po, clock, a: a as string, b: b as string, ids };
  }
  const subjects = (page: { messages: { subject: string }[] }) => page.messages.map((m) => m.subject);

  describe(`lease conformance: ${name}`, () => {
    it('gives two consumers of one address different messages, oldest first', async () => {
      const { po, b } = await setup(5);
      const one = await po.claim(b, { limit: 3, lease_seconds: 30 });
      const two = await po.claim(b, { limit: 3, lease_seconds: 30 });
      expect(subjects(one)).toEqual(['m0', 'm1', 'm2']);
      expect(subjects(two)).toEqual(['m3', 'm4']);
      expect(one.lease_id).not.toBe(two.lease_id);
      expect(one.unread_count).toBe(5);
      const none = await po.claim(b, { limit: 3, lease_seconds: 30 });
      expect(none).toMatchObject({ messages: [], lease_id: null, lease_expires_at: null });
      // Leases hide mail from claims only: the inbox still lists it, unread.
      expect(subjects(await po.inbox(b, { unread_only: true }))).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    });

    // A claim that walks past a page of held mail reads the inbox again before it is done: another
    // claim made meanwhile must not take what the first one already picked.
    it('gives claims made at once different messages, also when they walk past a page of held mail', async () => {
      const { po, b } = await setup(105);
      expect(subjects(await po.claim(b, { limit: 98, lease_seconds: 30 }))).toHaveLength(98);
      const [one, two] = await Promise.all([
        po.claim(b, { limit: 5, lease_seconds: 30 }),
        po.claim(b, { limit: 5, lease_seconds: 30 }),
      ]);
      const both = [...subjects(one), ...subjects(two)];
      expect(new Set(both).size).toBe(both.length);
      expect(both.sort()).toEqual(['m100', 'm101', 'm102', 'm103', 'm104', 'm98', 'm99']);
    });

    it('keeps a lease given while a read mark of other mail was under way', async () => {
      const { po, b, ids } = await setup(2);
      const [claimed] = await Promise.all([
        po.claim(b, { limit: 1, lease_seconds: 30 }),
        po.markRead(b, [ids[1] as string]),
      ]);
      expect(subjects(claimed)).toEqual(['m0']);
      expect(subjects(await po.claim(b, { lease_seconds: 30 }))).toEqual([]);
    });

    it('brings a message back when its lease runs out, exactly once', async () => {
      const { po, clock, b } = await setup(1);
      const first = await po.claim(b, { lease_seconds: 30 });
      expect(first.lease_expires_at).toBe(new Date(clock.now() + 30_000).toISOString());
      clock.advance(29_999);
      expect(subjects(await po.claim(b, { lease_seconds: 30 }))).toEqual([]);
      clock.advance(1);
      const again = await po.claim(b, { lease_seconds: 30 });
      expect(subjects(again)).toEqual(['m0']);
      expect(again.lease_id).not.toBe(first.lease_id);
      expect(subjects(await po.claim(b, { lease_seconds: 30 }))).toEqual([]);
    });

    it('keeps a renewed lease; a consumer whose lease ran out and was claimed again renews nothing', async () => {
      const { po, clock, b } = await setup(1);
      const first = await po.claim(b, { lease_seconds: 10 });
      clock.advance(8_000);
      expect(await po.renewLease(b, { lease_id: first.lease_id as string, lease_seconds: 10 })).toEqual({
        renewed: 1,
        lease_expires_at: new Date(clock.now() + 10_000).toISOString(),
      });
      clock.advance(9_999);
      expect(subjects(await po.claim(b, { lease_seconds: 10 }))).toEqual([]);
      clock.advance(1);
      expect(subjects(await po.claim(b, { lease_seconds: 10 }))).toEqual(['m0']);
      expect((await po.renewLease(b, { lease_id: first.lease_id as string, lease_seconds: 10 })).renewed).toBe(0);
    });

    it('ends a lease when the message is read; a released message is claimable at once', async () => {
      const { po, b, ids } = await setup(2);
      const lease = await po.claim(b, { lease_seconds: 60 });
      const leaseId = lease.lease_id as string;
      expect(await po.markRead(b, [ids[0] as string])).toBe(1);
      expect((await po.renewLease(b, { lease_id: leaseId, lease_seconds: 60 })).renewed).toBe(1);
      let woken = 0;
      const sub = po.wakeups(b).subscribe(() => woken++);
      const released = await po.renewLease(b, { lease_id: leaseId, lease_seconds: 0, message_ids: [ids[1] as string] });
      sub.unsubscribe();
      expect(released).toEqual({ renewed: 1, lease_expires_at: null });
      expect(woken).toBe(1);
      expect(subjects(await po.claim(b, { lease_seconds: 60 }))).toEqual(['m1']);
      expect(subjects(await po.claim(b, { lease_seconds: 60 }))).toEqual([]);
    });

    it('refuses bad claims and renewals with typed errors', async () => {
      const { po, b } = await setup(1);
      await expect(po.claim(b, { lease_seconds: 0 })).rejects.toBeInstanceOf(ValidationError);
      await expect(po.claim(b, { limit: 101 })).rejects.toBeInstanceOf(ValidationError);
      await expect(po.renewLease(b, { lease_id: 'x', lease_seconds: -1 })).rejects.toBeInstanceOf(ValidationError);
      await expect(po.claim(`ghost@${domain}`)).rejects.toBeInstanceOf(NotFoundError);
      await expect(po.renewLease(`ghost@${domain}`, { lease_id: 'x', lease_seconds: 5 })).rejects.toBeInstanceOf(
        NotFoundError,
      );
      expect(subjects(await po.claim(b))).toEqual(['m0']);
    });
  });
}
