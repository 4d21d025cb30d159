import { describe, expect, it } from 'vitest';
import { Agent, type Task } from '../../agents/agent.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import { createRuntime } from '../../runtime/runtime.js';
import { MemoryPostOffice } from './memory-post-office.js';

const LIMITS = { hourly: 1e9, daily: 1e9 };

async function office(maxMessages: number) {
  const po = new MemoryPostOffice({ limits: LIMITS, retention: { maxMessages } });
  const [a, b, c] = await Promise.all(['alice', 'bob', 'carol'].map((id) => po.register({ agent_id: id })));
  return { po, a: a!.email_address, b: b!.email_address, c: c!.email_address };
}

/** Sends `n` messages a → b, each read by b at once (as an agent does once it handled it). */
async function sendRead(po: MemoryPostOffice, a: string, b: string, n: number, from = 0) {
  const ids: string[] = [];
  for (let i = from; i < from + n; i++) {
    const { message_id } = await po.send(a, { to: [b], subject: `m${i}`, idempotency_key: `k${i}` });
    await po.markRead(b, [message_id]);
    ids.push(message_id);
  }
  return ids;
}

describe('MemoryPostOffice retention', () => {
  it('keeps maxMessages: the oldest read mail is forgotten from inboxes, sent lists, threads and keys', async () => {
    const { po, a, b } = await office(10);
    const ids = await sendRead(po, a, b, 50);
    expect(po.stats()).toEqual({ messages: 10, forgotten: 40 });
    const inbox = await po.inbox(b, { limit: 100 });
    expect(inbox.messages.map((m) => m.subject)).toEqual(Array.from({ length: 10 }, (_, i) => `m${40 + i}`));
    expect((await po.sent(a, { limit: 100 })).messages).toHaveLength(10);
    const old = ids[0] as string;
    await expect(po.message(b, old)).rejects.toBeInstanceOf(NotFoundError);
    await expect(po.thread(b, `thr_${old.slice(4)}`)).rejects.toBeInstanceOf(NotFoundError);
    await expect(po.send(b, { to: [a], subject: 'late reply', in_reply_to: old })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    // The key of a forgotten message is forgotten too; a kept one still answers with its message.
    expect((await po.send(a, { to: [b], subject: 'again', idempotency_key: 'k0' })).message_id).not.toBe(old);
    expect((await po.send(a, { to: [b], subject: 'again', idempotency_key: 'k49' })).message_id).toBe(ids[49]);
  });

  it('never forgets unread mail, and forgets it once read', async () => {
    const { po, a, b, c } = await office(5);
    const pinned = (await po.send(a, { to: [c], subject: 'carol is away' })).message_id;
    for (let i = 0; i < 20; i++) await po.send(a, { to: [b], subject: `u${i}` });
    expect(po.stats().messages).toBe(21);
    expect((await po.inbox(b, { unread_only: true, limit: 100 })).messages).toHaveLength(20);
    const unread = (await po.inbox(b, { unread_only: true, limit: 100 })).messages.map((m) => m.message_id);
    await po.markRead(b, unread);
    await sendRead(po, a, b, 10);
    // Carol's unread mail stays, whatever its age; the rest is down to the limit.
    expect(po.stats().messages).toBe(5);
    expect((await po.message(c, pinned)).subject).toBe('carol is away');
    expect((await po.inbox(c, { unread_only: true })).unread_count).toBe(0); // reading it marked it read
  });

  it('forgets mail in the order it was finished, and not mail marked unread again', async () => {
    const { po, a, b } = await office(4);
    const early = (await po.send(a, { to: [b], subject: 'read last' })).message_id;
    const again = await sendRead(po, a, b, 3);
    await po.markRead(b, [again[0] as string], { unread: true }); // b wants to see it again
    await po.markRead(b, [early]);
    await sendRead(po, a, b, 3, 3);
    const kept = (await po.inbox(b, { limit: 10 })).messages.map((m) => m.subject);
    // m1 and m2 were finished first and went first; 'read last' was finished after them but
    // before m3..m5, so it went next; m0 is unread again and stays whatever its age.
    expect(kept).toEqual(['m0', 'm3', 'm4', 'm5']);
    expect(po.stats().messages).toBe(4);
  });

  it('keeps a long thread readable: its newest messages, in order, after the first is forgotten', async () => {
    const { po, a, b } = await office(8);
    const first = await po.send(a, { to: [b], subject: 'T0' });
    await po.markRead(b, [first.message_id]);
    let last = first.message_id;
    for (let i = 1; i < 30; i++) {
      const [from, to] = i % 2 === 1 ? [b, a] : [a, b];
      last = (await po.send(from, { to: [to], subject: `T${i}`, in_reply_to: last })).message_id;
      await po.markRead(to, [last]);
    }
    const thread = await po.thread(a, first.thread_id);
    expect(thread.messages.map((m) => m.subject)).toEqual(Array.from({ length: 8 }, (_, i) => `T${22 + i}`));
    expect(thread.participant_addresses.sort()).toEqual([a, b].sort());
  });

  it('pages and cursors stay right across the lists it cuts back (thousands forgotten)', async () => {
    const { po, a, b } = await office(100);
    await sendRead(po, a, b, 5000);
    await po.inbox(b, { from_address: a, limit: 1 }); // builds the per-sender lists too
    await sendRead(po, a, b, 3000, 5000);
    for (let i = 0; i < 3; i++) await po.send(a, { to: [b], subject: `new${i}` });
    const all: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await po.inbox(b, { limit: 30, ...(cursor ? { cursor } : {}) });
      all.push(...page.messages.map((m) => m.subject));
      // The last page has a cursor too (the tail, where new mail is waited for): has_more ends the walk.
      cursor = page.has_more ? (page.cursor ?? undefined) : undefined;
    } while (cursor);
    expect(all).toHaveLength(100);
    expect(all.slice(-4)).toEqual(['m7999', 'new0', 'new1', 'new2']);
    const bySender = await po.inbox(b, { from_address: a, unread_only: true, limit: 10 });
    expect(bySender.messages.map((m) => m.subject)).toEqual(['new0', 'new1', 'new2']);
    expect((await po.sent(a, { limit: 100 })).messages.at(-1)?.subject).toBe('new2');
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new MemoryPostOffice({ retention: { maxMessages: 0 } })).toThrow(ValidationError);
    expect(() => new MemoryPostOffice({ retention: { maxMessages: 1.5 } })).toThrow(ValidationError);
  });

  it('bounds a runtime that handles many tasks, and loses none of them', async () => {
    const postOffice = new MemoryPostOffice({ limits: LIMITS, retention: { maxMessages: 200 } });
    const runtime = createRuntime({ postOffice });
    class Doubler extends Agent {
      override onTask(task: Task) {
        return (task.input as number) * 2;
      }
    }
    const worker = await runtime.spawn(new Doubler(), { id: 'doubler' });
    const user = await runtime.spawn(new (class User extends Agent {})(), { id: 'user' });
    let sum = 0;
    for (let round = 0; round < 10; round++) {
      const jobs = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          user.delegate(worker.address, { name: 'double', description: 'x2', input: round * 100 + i }),
        ),
      );
      const outcomes = await user.collect(
        jobs.map((j) => j.taskId),
        { timeoutMs: 10_000 },
      );
      for (const o of outcomes) if (o.state === 'completed') sum += o.result as number;
    }
    await runtime.stop();
    expect(sum).toBe(2 * ((999 * 1000) / 2)); // every one of the 1000 tasks answered
    expect(postOffice.stats().forgotten).toBeGreaterThan(2000);
    // Sends and reads both trim: once the last answers are read, the office is back to its limit.
    expect(postOffice.stats().messages).toBe(200);
  });
});
