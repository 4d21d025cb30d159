import { ConflictError, NotFoundError, RateLimitedError, ValidationError } from '../errors.js';
import type { PostOffice } from '../mailbox/post-office-contract.js';
import type { QuotaLimits } from '../post-office/kit/quota.js';
import type { Clock } from '../time/clock.js';
import { ManualClock } from './manual-clock.js';
import { vitest } from './vitest.js';

/** What a conformance factory is given. */
export type PostOfficeFactoryOptions = { clock: Clock; limits: QuotaLimits; domain: string };

type Setup = { po: PostOffice; clock: ManualClock; a: string; b: string; c: string };

/**
 * The PostOffice conformance suite: call it from a test file with a factory, and every
 * implementation is held to the same contract.
 */
export function postOfficeConformance(
  name: string,
  factory: (options: PostOfficeFactoryOptions) => PostOffice | Promise<PostOffice>,
): void {
  const { describe, expect, it } = vitest();
  const domain = 'agents.test';
  async function setup(limits: QuotaLimits = { hourly: 1000, daily: 10000 }): Promise<Setup> {
    const clock = new ManualClock();
    const po = await factory({ clock, limits, domain });
    const [a, b, c] = await Promise.all(['alice', 'bob', 'carol'].map((id) => po.register({ agent_id: id })));
    return { po, clock, a: a!.email_address, b: b!.email_address, c: c!.email_address };
  }
  const send = (po: PostOffice, from: string, to: string[], subject: string, extra: object = {}) =>
    po.send(from, { to, subject, body_text: `body of ${subject}`, ...extra });

  /** Everything every account can see, to prove that a failed call changed nothing. */
  async function snapshot(s: Setup): Promise<unknown> {
    const out: unknown[] = [];
    for (const who of [s.a, s.b, s.c]) {
      out.push(await s.po.inbox(who, { limit: 100 }), await s.po.sent(who, { limit: 100 }), await s.po.account(who));
    }
    return out;
  }

  describe(`PostOffice conformance: ${name}`, () => {
    describe('registration', () => {
      it('registers an agent and authenticates its key', async () => {
        const { po } = await setup();
        const reg = await po.register({ agent_id: 'research' });
        expect(reg.email_address).toBe(`research@${domain}`);
        expect(reg.api_key.length).toBeGreaterThan(20);
        expect(await po.authenticate(reg.api_key)).toBe(reg.email_address);
        expect(await po.authenticate('nope')).toBeUndefined();
      });
      it('rejects a taken id and a malformed id', async () => {
        const { po } = await setup();
        await expect(po.register({ agent_id: 'alice' })).rejects.toBeInstanceOf(ConflictError);
        await expect(po.register({ agent_id: 'Bad_Id!' })).rejects.toBeInstanceOf(ValidationError);
      });
    });

    describe('send and inbox', () => {
      it('delivers at once, oldest first, with direction relative to the caller', async () => {
        const { po, clock, a, b } = await setup();
        const first = await send(po, a, [b], 'one');
        clock.advance(1);
        await send(po, a, [b], 'two');
        const page = await po.inbox(b);
        expect(page.messages.map((m) => m.subject)).toEqual(['one', 'two']);
        expect(page.messages[0]).toMatchObject({
          from_address: a,
          from_agent_id: 'alice',
          direction: 'inbound',
          read_at: null,
        });
        expect(page.unread_count).toBe(2);
        expect(first.message.direction).toBe('outbound');
        expect((await po.sent(a)).messages.map((m) => m.subject)).toEqual(['one', 'two']);
      });
      it('ignores a from_address in the request: the sender is always the caller', async () => {
        const { po, a, b, c } = await setup();
        await po.send(a, { to: [b], subject: 'spoof', from_address: c } as never);
        expect((await po.inbox(b)).messages[0]?.from_address).toBe(a);
      });
      it('returns the first result for a repeated idempotency key and sends nothing more', async () => {
        const { po, a, b } = await setup();
        const one = await send(po, a, [b], 'once', { idempotency_key: 'k1' });
        const two = await send(po, a, [b], 'once', { idempotency_key: 'k1' });
        expect(two.message_id).toBe(one.message_id);
        expect((await po.inbox(b)).messages).toHaveLength(1);
        expect((await po.account(a)).rate_limits.hourly.used).toBe(1);
      });
      it('filters by sender', async () => {
        const { po, a, b, c } = await setup();
        await send(po, a, [c], 'from a');
        await send(po, b, [c], 'from b');
        const page = await po.inbox(c, { from_address: b });
        expect(page.messages.map((m) => m.subject)).toEqual(['from b']);
      });
      it('emits a wake-up when mail lands for an address', async () => {
        const { po, a, b } = await setup();
        let woken = 0;
        const sub = po.wakeups(b).subscribe(() => woken++);
        await send(po, a, [b], 'wake');
        await send(po, b, [a], 'not for b');
        sub.unsubscribe();
        expect(woken).toBe(1);
      });
    });

    describe('threads', () => {
      it('threads replies by in_reply_to and keeps accepted order', async () => {
        const { po, clock, a, b } = await setup();
        const root = await send(po, a, [b], 'TASK:t1 — plan');
        clock.advance(5);
        const reply = await send(po, b, [a], 'RESULT:t1', { in_reply_to: root.message_id });
        const other = await send(po, a, [b], 'unrelated');
        expect(reply.thread_id).toBe(root.thread_id);
        expect(other.thread_id).not.toBe(root.thread_id);
        const thread = await po.thread(a, root.thread_id);
        expect(thread.subject).toBe('TASK:t1 — plan');
        expect(thread.messages.map((m) => m.message_id)).toEqual([root.message_id, reply.message_id]);
        expect(thread.messages[1]?.in_reply_to).toBe(root.message_id);
        expect(new Set(thread.participant_addresses)).toEqual(new Set([a, b]));
      });
      it('shows a participant every message of the thread, and a non-participant nothing', async () => {
        const { po, a, b, c } = await setup();
        const root = await send(po, a, [b], 'kickoff');
        await send(po, b, [a, c], 'Re: kickoff', { in_reply_to: root.message_id });
        const seenByC = await po.thread(c, root.thread_id);
        expect(seenByC.messages).toHaveLength(2);
        const outsider = (await po.register({ agent_id: 'mallory' })).email_address;
        await expect(po.thread(outsider, root.thread_id)).rejects.toBeInstanceOf(NotFoundError);
        await expect(po.message(outsider, root.message_id)).rejects.toBeInstanceOf(NotFoundError);
        await expect(send(po, outsider, [a], 'Re: x', { in_reply_to: root.message_id })).rejects.toBeInstanceOf(
          NotFoundError,
        );
      });
      it('keeps bcc recipients out of everyone else’s view', async () => {
        const { po, a, b, c } = await setup();
        const sent = await send(po, a, [b], 'secret copy', { bcc: [c] });
        expect((await po.inbox(c)).messages.map((m) => m.subject)).toEqual(['secret copy']);
        const seenByB = await po.thread(b, sent.thread_id);
        expect(seenByB.participant_addresses).not.toContain(c);
        expect(seenByB.messages[0]?.to_addresses).toEqual([b]);
        expect(seenByB.messages[0]?.cc_addresses).toEqual([]);
        expect((await po.thread(c, sent.thread_id)).participant_addresses).toContain(c);
      });
      it('shows a bcc recipient the messages addressed to it, not later replies it was never sent', async () => {
        const { po, a, b, c } = await setup();
        const root = await send(po, a, [b], 'plan', { bcc: [c] });
        const reply = await send(po, b, [a], 'Re: plan (not for c)', { in_reply_to: root.message_id });
        const again = await send(po, a, [b], 'Re: plan (c copied again)', { in_reply_to: reply.message_id, bcc: [c] });
        const seenByC = await po.thread(c, root.thread_id);
        expect(seenByC.messages.map((m) => m.message_id)).toEqual([root.message_id, again.message_id]);
        await expect(po.message(c, reply.message_id)).rejects.toBeInstanceOf(NotFoundError);
        await expect(send(po, c, [a], 'Re: x', { in_reply_to: reply.message_id })).rejects.toBeInstanceOf(
          NotFoundError,
        );
        expect((await po.thread(b, root.thread_id)).messages).toHaveLength(3);
        // Answering what it was sent makes it a participant, as replying to all does in mail.
        await send(po, c, [a], 'Re: plan (from c)', { in_reply_to: root.message_id });
        expect((await po.thread(c, root.thread_id)).messages).toHaveLength(4);
      });
    });

    describe('read state, stars and deletion', () => {
      it('marks a message read when it is fetched, and by markRead; unread again on request', async () => {
        const { po, a, b } = await setup();
        const m1 = await send(po, a, [b], 'one');
        const m2 = await send(po, a, [b], 'two');
        const fetched = await po.message(b, m1.message_id);
        expect(fetched.read_at).not.toBeNull();
        expect((await po.inbox(b, { unread_only: true })).messages.map((m) => m.subject)).toEqual(['two']);
        expect(await po.markRead(b, [m2.message_id])).toBe(1);
        expect((await po.inbox(b, { unread_only: true })).messages).toHaveLength(0);
        expect((await po.inbox(b)).unread_count).toBe(0);
        expect(await po.markRead(b, [m1.message_id], { unread: true })).toBe(1);
        const unread = await po.inbox(b, { unread_only: true });
        expect(unread.messages.map((m) => m.subject)).toEqual(['one']);
        expect(unread.unread_count).toBe(1);
        // The sender's fetch of its own outbound copy marks nothing.
        expect((await po.message(a, m2.message_id)).direction).toBe('outbound');
      });
      it('toggles a star and deletes from the caller’s view only', async () => {
        const { po, a, b } = await setup();
        const m = await send(po, a, [b], 'keep');
        expect(await po.star(b, m.message_id)).toEqual({ starred: true });
        expect(await po.star(b, m.message_id)).toEqual({ starred: false });
        await po.delete(b, m.message_id);
        expect((await po.inbox(b)).messages).toHaveLength(0);
        expect((await po.inbox(b)).unread_count).toBe(0);
        expect((await po.sent(a)).messages).toHaveLength(1);
        await expect(po.delete(b, m.message_id)).rejects.toBeInstanceOf(NotFoundError);
      });
    });

    describe('cursor paging', () => {
      it('pages through unread mail with no loss and no duplicates while mail keeps arriving', async () => {
        const { po, clock, a, b } = await setup();
        let sentCount = 0;
        const sendMore = async (n: number) => {
          for (let i = 0; i < n; i++) {
            clock.advance(1);
            await send(po, a, [b], `m${sentCount++}`);
          }
        };
        await sendMore(10);
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let round = 0; round < 50; round++) {
          const page = await po.inbox(b, { unread_only: true, limit: 3, ...(cursor ? { cursor } : {}) });
          seen.push(...page.messages.map((m) => m.subject));
          // Mark read what was read, as an agent would, while more mail lands.
          if (page.messages.length > 0)
            await po.markRead(
              b,
              page.messages.map((m) => m.message_id),
            );
          if (round < 5) await sendMore(2);
          if (!page.has_more) break;
          cursor = page.cursor ?? undefined;
        }
        const rest = await po.inbox(b, { unread_only: true, limit: 100 });
        seen.push(...rest.messages.map((m) => m.subject));
        expect(seen).toHaveLength(sentCount);
        expect(new Set(seen).size).toBe(sentCount);
      });
      it('pages through all mail and sent mail', async () => {
        const { po, a, b } = await setup();
        for (let i = 0; i < 7; i++) await send(po, a, [b], `m${i}`);
        for (const list of ['inbox', 'sent'] as const) {
          const who = list === 'inbox' ? b : a;
          const seen: string[] = [];
          let cursor: string | undefined;
          do {
            const page = await po[list](who, { limit: 2, ...(cursor ? { cursor } : {}) });
            seen.push(...page.messages.map((m) => m.subject));
            cursor = page.has_more ? (page.cursor ?? undefined) : undefined;
          } while (cursor);
          expect(seen).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
        }
      });
    });

    describe('quotas', () => {
      it('refuses the send past the hourly quota until the top of the next UTC hour', async () => {
        const s = await setup({ hourly: 3, daily: 100 });
        s.clock.set(Date.UTC(2026, 0, 1, 10, 59, 0));
        for (let i = 0; i < 3; i++) await send(s.po, s.a, [s.b], `q${i}`);
        const before = await snapshot(s);
        const error = await send(s.po, s.a, [s.b], 'over').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RateLimitedError);
        const limited = error as RateLimitedError;
        expect(limited.retryAfterMs).toBe(60_000);
        expect(limited.details).toMatchObject({ limit_type: 'hourly', hourly_used: 3, hourly_limit: 3 });
        expect(await snapshot(s)).toEqual(before);
        const account = await s.po.account(s.a);
        expect(account.rate_limits.hourly).toEqual({ used: 3, limit: 3, remaining: 0 });
        s.clock.set(Date.UTC(2026, 0, 1, 10, 59, 59, 999));
        await expect(send(s.po, s.a, [s.b], 'still over')).rejects.toBeInstanceOf(RateLimitedError);
        s.clock.set(Date.UTC(2026, 0, 1, 11, 0, 0));
        await expect(send(s.po, s.a, [s.b], 'next hour')).resolves.toMatchObject({ status: 'delivered' });
        expect((await s.po.account(s.a)).rate_limits.hourly.used).toBe(1);
      });
      it('refuses the send past the daily quota until 00:00 UTC', async () => {
        const { po, clock, a, b } = await setup({ hourly: 100, daily: 2 });
        clock.set(Date.UTC(2026, 0, 1, 23, 0, 0));
        await send(po, a, [b], 'd1');
        await send(po, a, [b], 'd2');
        const error = (await send(po, a, [b], 'd3').catch((e: unknown) => e)) as RateLimitedError;
        expect(error).toBeInstanceOf(RateLimitedError);
        expect(error.details?.limit_type).toBe('daily');
        expect(error.retryAfterMs).toBe(3_600_000);
        clock.set(Date.UTC(2026, 0, 2, 0, 0, 0));
        await expect(send(po, a, [b], 'd4')).resolves.toBeDefined();
        expect((await po.account(a)).rate_limits.daily).toEqual({ used: 1, limit: 2, remaining: 1 });
      });
    });

    describe('bad input is a typed error and changes nothing', () => {
      const cases: [
        string,
        (s: Setup, ids: { m: string; t: string }) => Promise<unknown>,
        new (...args: never[]) => Error,
      ][] = [
        ['send with no recipient', (s) => s.po.send(s.a, { to: [], subject: 'x' }), ValidationError],
        [
          'send to a malformed address',
          (s) => s.po.send(s.a, { to: ['not an address'], subject: 'x' }),
          ValidationError,
        ],
        ['send with a subject over 256 chars', (s) => send(s.po, s.a, [s.b], 'x'.repeat(257)), ValidationError],
        ['send with an empty subject', (s) => send(s.po, s.a, [s.b], ''), ValidationError],
        ['send with eleven recipients', (s) => send(s.po, s.a, Array(11).fill(s.b), 'x'), ValidationError],
        [
          'send with a body over 256 KiB of UTF-8',
          (s) => s.po.send(s.a, { to: [s.b], subject: 'x', body_text: 'é'.repeat(140_000) }),
          ValidationError,
        ],
        [
          'send to one unregistered recipient among good ones',
          (s) => send(s.po, s.a, [s.b, `ghost@${domain}`], 'x', { cc: [s.c] }),
          NotFoundError,
        ],
        [
          'send in reply to an unknown message',
          (s) => send(s.po, s.a, [s.b], 'x', { in_reply_to: 'msg_nope' }),
          NotFoundError,
        ],
        ['send from an unknown account', (s) => send(s.po, `ghost@${domain}`, [s.b], 'x'), NotFoundError],
        ['inbox with limit 0', (s) => s.po.inbox(s.b, { limit: 0 }), ValidationError],
        ['inbox with limit 101', (s) => s.po.inbox(s.b, { limit: 101 }), ValidationError],
        ['inbox with a forged cursor', (s) => s.po.inbox(s.b, { cursor: 'garbage' }), ValidationError],
        ['inbox of an unknown account', (s) => s.po.inbox(`ghost@${domain}`), NotFoundError],
        ['message that does not exist', (s) => s.po.message(s.b, 'msg_nope'), NotFoundError],
        ['message of someone else’s thread', (s, ids) => s.po.message(s.c, ids.m), NotFoundError],
        ['markRead of no ids', (s) => s.po.markRead(s.b, []), ValidationError],
        [
          'markRead with one unknown id among good ones',
          (s, ids) => s.po.markRead(s.b, [ids.m, 'msg_nope']),
          NotFoundError,
        ],
        ['star of an unknown message', (s) => s.po.star(s.b, 'msg_nope'), NotFoundError],
        ['delete of someone else’s message', (s, ids) => s.po.delete(s.c, ids.m), NotFoundError],
        ['thread that does not exist', (s) => s.po.thread(s.b, 'thr_nope'), NotFoundError],
        ['thread read by a non-participant', (s, ids) => s.po.thread(s.c, ids.t), NotFoundError],
        ['sent with limit 0', (s) => s.po.sent(s.a, { limit: 0 }), ValidationError],
        ['account that does not exist', (s) => s.po.account(`ghost@${domain}`), NotFoundError],
        ['register with a malformed id', (s) => s.po.register({ agent_id: '-x' }), ValidationError],
      ];
      for (const [what, call, type] of cases) {
        it(`${what}`, async () => {
          const s = await setup();
          const m = await send(s.po, s.a, [s.b], 'existing');
          const before = await snapshot(s);
          const error = await call(s, { m: m.message_id, t: m.thread_id }).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(type);
          expect(await snapshot(s)).toEqual(before);
        });
      }
    });
  });
}
