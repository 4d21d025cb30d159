import { filter, firstValueFrom, map, type Observable, scan } from 'rxjs';
import { NotFoundError, RateLimitedError, ValidationError } from '../errors.js';
import type { Mailbox } from '../mailbox/mailbox.js';
import type { Clock } from '../time/clock.js';
import type { InboxPage, Message } from '../wire/model.js';
import { RunningClock } from './running-clock.js';
import { vitest } from './vitest.js';

/** What a Mailbox conformance fixture provides: fresh agents (on one post office), and cleanup. */
export type MailboxFixture = {
  /** A mailbox for a new agent with this id; `hourly` limits its sends per hour. */
  agent(agentId: string, options?: { hourly?: number }): Promise<Mailbox>;
  close(): Promise<void>;
};

/** What the suite gives its fixture. */
export type MailboxFixtureOptions = {
  /**
   * The clock of the post office behind the mailboxes: it stays inside one quota window while the
   * suite runs, so that its quota checks never meet the top of an hour.
   */
  clock: Clock;
};

/** The first `n` messages a push stream delivers (it is unsubscribed then), in order. */
function firstMessages(pages: Observable<InboxPage>, n: number, seen: InboxPage[] = []): Promise<Message[]> {
  return firstValueFrom(
    pages.pipe(
      map((page) => {
        seen.push(page);
        return page.messages;
      }),
      scan((all: Message[], some) => all.concat(some), []),
      filter((all) => all.length >= n),
    ),
  );
}

/**
 * The Mailbox conformance suite: one contract for `LocalMailbox` and for `HttpMailbox` against a
 * real server.
 */
export function mailboxConformance(
  name: string,
  makeFixture: (options: MailboxFixtureOptions) => Promise<MailboxFixture>,
): void {
  const { afterAll, beforeAll, describe, expect, it } = vitest();
  describe(`Mailbox conformance: ${name}`, () => {
    let fx: MailboxFixture;
    let n = 0;
    const pair = async () => {
      n += 1;
      return [await fx.agent(`alice-${n}`), await fx.agent(`bob-${n}`)] as const;
    };
    beforeAll(async () => {
      fx = await makeFixture({ clock: new RunningClock() });
    });
    afterAll(async () => {
      await fx.close();
    });

    it('sends, lists unread mail oldest first, and reads one message (which marks it read)', async () => {
      const [a, b] = await pair();
      const one = await a.send({ to: [b.address], subject: 'one', body_text: 'first' });
      await a.send({ to: [b.address], subject: 'two', body_text: 'second' });
      expect(one.message.from_address).toBe(a.address);
      const page = await b.inbox({ unread_only: true });
      expect(page.messages.map((m) => m.subject)).toEqual(['one', 'two']);
      expect(page.unread_count).toBe(2);
      const read = await b.message(one.message_id);
      expect(read.body_text).toBe('first');
      expect(read.read_at).not.toBeNull();
      expect((await b.inbox({ unread_only: true })).messages.map((m) => m.subject)).toEqual(['two']);
    });

    it('marks messages read and unread again', async () => {
      const [a, b] = await pair();
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push((await a.send({ to: [b.address], subject: `m${i}` })).message_id);
      expect(await b.markRead(ids.slice(0, 2))).toBe(2);
      expect((await b.inbox({ unread_only: true })).messages.map((m) => m.subject)).toEqual(['m2']);
      await b.markRead([ids[0] as string], { unread: true });
      expect((await b.inbox({ unread_only: true })).messages.map((m) => m.subject)).toEqual(['m0', 'm2']);
    });

    it('threads a reply and shows the thread to both participants', async () => {
      const [a, b] = await pair();
      const root = await a.send({ to: [b.address], subject: 'question' });
      const reply = await b.send({ to: [a.address], subject: 'Re: question', in_reply_to: root.message_id });
      expect(reply.thread_id).toBe(root.thread_id);
      for (const who of [a, b]) {
        const thread = await who.thread(root.thread_id);
        expect(thread.messages.map((m) => m.subject)).toEqual(['question', 'Re: question']);
        expect(new Set(thread.participant_addresses)).toEqual(new Set([a.address, b.address]));
      }
    });

    it('pages through the inbox with a cursor', async () => {
      const [a, b] = await pair();
      for (let i = 0; i < 5; i++) await a.send({ to: [b.address], subject: `p${i}` });
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await b.inbox({ limit: 2, ...(cursor ? { cursor } : {}) });
        seen.push(...page.messages.map((m) => m.subject));
        cursor = page.has_more ? (page.cursor ?? undefined) : undefined;
      } while (cursor);
      expect(seen).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
    });

    it('lists its sent mail in pages, stars and deletes in its own view only', async () => {
      const [a, b] = await pair();
      for (const subject of ['one', 'two', 'three']) await a.send({ to: [b.address], subject });
      const first = await a.sent({ limit: 2 });
      expect(first.messages.map((m) => m.subject)).toEqual(['one', 'two']);
      expect(first.messages.every((m) => m.direction === 'outbound')).toBe(true);
      expect(first.has_more).toBe(true);
      const rest = await a.sent({ limit: 2, cursor: first.cursor ?? '' });
      expect(rest.messages.map((m) => m.subject)).toEqual(['three']);
      const [mail] = (await b.inbox({ limit: 1 })).messages;
      const id = mail?.message_id ?? '';
      expect(await b.star(id)).toEqual({ starred: true });
      expect((await b.message(id)).starred).toBe(true);
      await b.delete(id);
      await expect(b.message(id)).rejects.toBeInstanceOf(NotFoundError);
      expect((await b.inbox({ limit: 10 })).messages.map((m) => m.subject)).toEqual(['two', 'three']);
      expect((await a.sent({ limit: 10 })).messages).toHaveLength(3); // the sender keeps its copy
      await expect(b.delete(id)).rejects.toBeInstanceOf(NotFoundError);
    });

    it('pushes the inbox as mail lands: the backlog, then each message once, in order; a cursor resumes after its page', async () => {
      const [a, b] = await pair();
      const push = b.inboxPush?.bind(b);
      expect(push).toBeDefined();
      if (!push) return;
      for (const subject of ['q0', 'q1']) await a.send({ to: [b.address], subject });
      const pages: InboxPage[] = [];
      const firstTwo = firstMessages(push({ limit: 2 }), 2);
      const seven = firstMessages(push({ limit: 2 }), 7, pages);
      expect((await firstTwo).map((m) => m.subject)).toEqual(['q0', 'q1']);
      for (let i = 2; i < 7; i++) await a.send({ to: [b.address], subject: `q${i}` });
      expect((await seven).map((m) => m.subject)).toEqual(['q0', 'q1', 'q2', 'q3', 'q4', 'q5', 'q6']);
      // A cursor resumes after its page: nothing of that page again, nothing after it missed.
      const after = pages[0]?.cursor ?? undefined;
      expect(pages[0]?.messages.map((m) => m.subject)).toEqual(['q0', 'q1']);
      await a.send({ to: [b.address], subject: 'q7' });
      const resumed = await firstMessages(push({ cursor: after as string }), 6);
      expect(resumed.map((m) => m.subject)).toEqual(['q2', 'q3', 'q4', 'q5', 'q6', 'q7']);
      // The filters hold: only unread mail from the sender asked for.
      await b.markRead([(await seven)[0]?.message_id as string]);
      const unread = await firstMessages(push({ unread_only: true, from_address: a.address }), 7);
      expect(unread.map((m) => m.subject)).toEqual(['q1', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7']);
    });

    it('answers sends made at once one by one: a repeated idempotency key, one over quota', async () => {
      const [, b] = await pair();
      const limited = await fx.agent(`batch-${n}`, { hourly: 3 });
      const to = [b.address];
      const outcomes = await Promise.allSettled([
        limited.send({ to, subject: 'b1', idempotency_key: `k-${n}` }),
        limited.send({ to, subject: 'b1 again', idempotency_key: `k-${n}` }),
        limited.send({ to, subject: 'b2' }),
        limited.send({ to, subject: 'b3' }),
        limited.send({ to, subject: 'b4' }),
      ]);
      const sent = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.message_id] : []));
      const failed = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
      expect(sent).toHaveLength(4);
      expect(failed).toHaveLength(1);
      expect(failed[0]).toBeInstanceOf(RateLimitedError);
      const [first, again] = outcomes;
      expect(first?.status === 'fulfilled' && again?.status === 'fulfilled').toBe(true);
      if (first?.status === 'fulfilled' && again?.status === 'fulfilled') {
        expect(again.value.message_id).toBe(first.value.message_id);
      }
      expect(new Set(sent).size).toBe(3);
      const inbox = await b.inbox({ from_address: limited.address });
      expect(inbox.messages).toHaveLength(3);
      expect((await limited.account()).rate_limits.hourly.used).toBe(3);
    });

    it('reports its account and quotas', async () => {
      const [a, b] = await pair();
      await a.send({ to: [b.address], subject: 'count me' });
      const account = await a.account();
      expect(account.email_address).toBe(a.address);
      expect(account.total_sent).toBe(1);
      expect(account.rate_limits.hourly.used).toBe(1);
    });

    it('fails with typed errors: not found, invalid, over quota', async () => {
      const [a, b] = await pair();
      await expect(b.message('msg_does_not_exist')).rejects.toBeInstanceOf(NotFoundError);
      await expect(b.thread('thr_does_not_exist')).rejects.toBeInstanceOf(NotFoundError);
      const invalid = await a.send({ to: [], subject: 'x' }).catch((e: unknown) => e);
      expect(invalid).toBeInstanceOf(ValidationError);
      expect((invalid as ValidationError).issues[0]?.loc).toEqual(['to']);
      const limited = await fx.agent(`limited-${n}`, { hourly: 1 });
      await limited.send({ to: [b.address], subject: 'ok' });
      const error = await limited.send({ to: [b.address], subject: 'too many' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RateLimitedError);
      expect((error as RateLimitedError).retryAfterMs).toBeGreaterThan(0);
      expect((error as RateLimitedError).details?.limit_type).toBe('hourly');
    });
  });
}
