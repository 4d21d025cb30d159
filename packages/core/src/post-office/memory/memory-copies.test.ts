import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../errors.js';
import { MemoryPostOffice } from './memory-post-office.js';

// The stored message is also its sender's copy and its first recipient's copy: what one of them
// does to the message (read, star, delete) must show in that one's view only.

const LIMITS = { hourly: 1e9, daily: 1e9 };

async function office(maxMessages?: number) {
  const po = new MemoryPostOffice({ limits: LIMITS, ...(maxMessages ? { retention: { maxMessages } } : {}) });
  const [a, b, c] = await Promise.all(['alice', 'bob', 'carol'].map((id) => po.register({ agent_id: id })));
  return { po, a: a!.email_address, b: b!.email_address, c: c!.email_address };
}

/** How `address` sees message `id`: through its inbox and sent lists, and by id. */
async function seen(po: MemoryPostOffice, address: string, id: string) {
  const inbox = (await po.inbox(address, { limit: 100 })).messages.find((m) => m.message_id === id);
  const unread = (await po.inbox(address, { unread_only: true, limit: 100 })).messages.some((m) => m.message_id === id);
  const sent = (await po.sent(address, { limit: 100 })).messages.find((m) => m.message_id === id);
  return {
    inbox: inbox && { read: inbox.read_at !== null, starred: inbox.starred, direction: inbox.direction },
    unread,
    sent: sent && { read: sent.read_at !== null, starred: sent.starred, direction: sent.direction },
  };
}

describe('MemoryPostOffice: the sender’s and the recipient’s copy of one stored message', () => {
  it('keeps read state and stars apart', async () => {
    const { po, a, b } = await office();
    const { message_id: id, message } = await po.send(a, { to: [b], subject: 'one' });
    expect(message).toMatchObject({ direction: 'outbound', read_at: null, starred: false });
    await po.markRead(b, [id]);
    expect(await po.star(b, id)).toEqual({ starred: true });
    expect(await seen(po, b, id)).toEqual({
      inbox: { read: true, starred: true, direction: 'inbound' },
      unread: false,
      sent: undefined,
    });
    expect(await seen(po, a, id)).toEqual({
      inbox: undefined,
      unread: false,
      sent: { read: false, starred: false, direction: 'outbound' },
    });
    expect(await po.star(a, id)).toEqual({ starred: true });
    expect(await po.star(b, id)).toEqual({ starred: false });
    expect((await po.message(a, id)).starred).toBe(true);
    expect((await po.message(b, id)).starred).toBe(false);
    // The sender's markRead of its own sent mail changes nothing, and is no error.
    expect(await po.markRead(a, [id])).toBe(0);
    expect(await po.markRead(b, [id], { unread: true })).toBe(1);
    expect(await seen(po, b, id)).toMatchObject({ inbox: { read: false }, unread: true });
    expect((await po.account(b)).total_received).toBe(1);
  });

  it('deletes one side only; the other still sees, stars and reads the message', async () => {
    const { po, a, b } = await office();
    const first = (await po.send(a, { to: [b], subject: 'first' })).message_id;
    const second = (await po.send(a, { to: [b], subject: 'second' })).message_id;
    await po.delete(b, first);
    expect(await seen(po, b, first)).toEqual({ inbox: undefined, unread: false, sent: undefined });
    await expect(po.message(b, first)).rejects.toBeInstanceOf(NotFoundError);
    await expect(po.star(b, first)).rejects.toBeInstanceOf(NotFoundError);
    await expect(po.markRead(b, [first])).rejects.toBeInstanceOf(NotFoundError);
    await expect(po.delete(b, first)).rejects.toBeInstanceOf(NotFoundError);
    expect((await po.inbox(b, {})).unread_count).toBe(1);
    expect(await seen(po, a, first)).toMatchObject({ sent: { starred: false } });
    expect((await po.star(a, first)).starred).toBe(true);

    await po.delete(a, second);
    expect(await seen(po, a, second)).toMatchObject({ sent: undefined });
    await expect(po.star(a, second)).rejects.toBeInstanceOf(NotFoundError);
    await expect(po.markRead(a, [second])).rejects.toBeInstanceOf(NotFoundError);
    expect(await seen(po, b, second)).toEqual({
      inbox: { read: false, starred: false, direction: 'inbound' },
      unread: true,
      sent: undefined,
    });
    expect((await po.message(b, second)).read_at).not.toBeNull();
  });

  it('mail to oneself: one received copy and one sent copy, each with its own state', async () => {
    const { po, a } = await office();
    const id = (await po.send(a, { to: [a], subject: 'note to self' })).message_id;
    expect(await seen(po, a, id)).toEqual({
      inbox: { read: false, starred: false, direction: 'inbound' },
      unread: true,
      sent: { read: false, starred: false, direction: 'outbound' },
    });
    // Starring and reading by id take the received copy.
    expect(await po.star(a, id)).toEqual({ starred: true });
    expect((await po.message(a, id)).direction).toBe('inbound');
    expect(await seen(po, a, id)).toEqual({
      inbox: { read: true, starred: true, direction: 'inbound' },
      unread: false,
      sent: { read: false, starred: false, direction: 'outbound' },
    });
    // Delete takes both.
    await po.delete(a, id);
    expect(await seen(po, a, id)).toEqual({ inbox: undefined, unread: false, sent: undefined });
  });

  it('several recipients: the first (the stored message) and the others each keep their own copy', async () => {
    const { po, a, b, c } = await office();
    const { message_id: id } = await po.send(a, { to: [b], cc: [c], subject: 'all' });
    await po.markRead(c, [id]);
    await po.star(b, id);
    expect(await seen(po, b, id)).toMatchObject({ inbox: { read: false, starred: true }, unread: true });
    expect(await seen(po, c, id)).toMatchObject({ inbox: { read: true, starred: false }, unread: false });
    await po.delete(b, id);
    expect(await seen(po, c, id)).toMatchObject({ inbox: { read: true, starred: false } });
    expect(await seen(po, a, id)).toMatchObject({ sent: { starred: false } });
    const thread = await po.thread(c, (await po.message(c, id)).thread_id);
    expect(thread.messages.map((m) => [m.direction, m.starred, m.read_at !== null])).toEqual([
      ['inbound', false, true],
    ]);
    const bySender = await po.inbox(b, { from_address: a });
    expect(bySender.messages).toEqual([]);
  });

  it('retention forgets a message only once every recipient is done, from every side', async () => {
    const { po, a, b, c } = await office(1);
    const { message_id: both } = await po.send(a, { to: [b, c], subject: 'both' });
    await po.markRead(b, [both]);
    await po.star(a, both);
    const { message_id: next } = await po.send(a, { to: [b], subject: 'next' });
    // c has not read `both`: it is kept (the limit is 1, two are kept).
    expect(po.stats()).toEqual({ messages: 2, forgotten: 0 });
    expect(await seen(po, a, both)).toMatchObject({ sent: { starred: true } });
    await po.delete(c, both);
    expect(po.stats()).toEqual({ messages: 1, forgotten: 1 });
    for (const who of [a, b, c]) {
      expect(await seen(po, who, both)).toEqual({ inbox: undefined, unread: false, sent: undefined });
      await expect(po.message(who, both)).rejects.toBeInstanceOf(NotFoundError);
    }
    await expect(po.star(a, both)).rejects.toBeInstanceOf(NotFoundError);
    await expect(po.delete(a, both)).rejects.toBeInstanceOf(NotFoundError);
    expect((await po.inbox(b, {})).unread_count).toBe(1);
    expect(await seen(po, b, next)).toMatchObject({ unread: true });
    await po.markRead(b, [next]);
    expect(po.stats().messages).toBe(1);
  });
});
