import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../errors.js';
import { MemoryPostOffice } from './memory-post-office.js';
import { MessageTable } from './message-table.js';

const LIMITS = { hourly: 1e9, daily: 1e9 };

describe('MemoryPostOffice message ids', () => {
  it('finds mail kept long after thousands of later messages were forgotten, and nothing under a made-up id', async () => {
    const po = new MemoryPostOffice({ limits: LIMITS, retention: { maxMessages: 10 } });
    const [a, b] = (await Promise.all(['alice', 'bob'].map((id) => po.register({ agent_id: id })))).map(
      (r) => r.email_address,
    ) as [string, string];
    // Unread: never forgotten, while everything sent after it is read and forgotten.
    const kept = (await po.send(a, { to: [b], subject: 'the first' })).message_id;
    let last = '';
    for (let i = 0; i < 5000; i++) {
      last = (await po.send(a, { to: [b], subject: `m${i}` })).message_id;
      await po.markRead(b, [last]);
    }
    expect(po.stats().forgotten).toBeGreaterThan(4900);
    expect((await po.message(b, kept)).subject).toBe('the first');
    const reply = await po.send(b, { to: [a], subject: 'Re: the first', in_reply_to: kept });
    expect(reply.thread_id).toBe(`thr_${kept.slice(4)}`);
    expect((await po.thread(a, reply.thread_id)).messages.map((m) => m.subject)).toEqual([
      'the first',
      'Re: the first',
    ]);
    expect((await po.message(b, last)).subject).toBe('m4999');
    for (const id of [`${kept}x`, `${kept.slice(0, -1)}`, 'msg_', 'msg_zzzzzzzzzzzzzz', kept.replace('msg_', 'thr_')]) {
      await expect(po.message(b, id)).rejects.toBeInstanceOf(NotFoundError);
    }
    await expect(po.markRead(b, [`${last}0`])).rejects.toBeInstanceOf(NotFoundError);
  });

  it('finds nothing, and deletes nothing, under the number of a kept message with another head (another office)', async () => {
    const po = new MemoryPostOffice({ limits: LIMITS, retention: { maxMessages: 10 } });
    const [a, b] = (await Promise.all(['alice', 'bob'].map((id) => po.register({ agent_id: id })))).map(
      (r) => r.email_address,
    ) as [string, string];
    const early = (await po.send(a, { to: [b], subject: 'early' })).message_id;
    for (let i = 0; i < 3000; i++) await po.markRead(b, [(await po.send(a, { to: [b], subject: `m${i}` })).message_id]);
    const recent = (await po.send(a, { to: [b], subject: 'recent' })).message_id;
    // `early` now lives in the table's map of kept messages from a cut front, `recent` in its slots.
    for (const id of [early, recent]) {
      const flipped = id[5] === 'f' ? 'e' : 'f';
      for (const other of [`${id.slice(0, 5)}${flipped}${id.slice(6)}`, `XYZ_${id.slice(4)}`]) {
        await expect(po.message(b, other)).rejects.toBeInstanceOf(NotFoundError);
        await expect(po.markRead(b, [other])).rejects.toBeInstanceOf(NotFoundError);
        await expect(po.delete(b, other)).rejects.toBeInstanceOf(NotFoundError);
      }
      expect((await po.message(b, id)).message_id).toBe(id);
    }
  });

  it('makes ids and thread ids of the one format, whichever way it builds them', async () => {
    const table = new MessageTable<{ id: string }>('msg_0123abcd');
    const long = new MessageTable<{ id: string }>('msg_0123abcd_x');
    for (let n = 1; n <= 3000; n++) {
      const id = table.nextId();
      expect(id).toBe(`msg_0123abcd${n.toString(36).padStart(6, '0')}`);
      table.add({ id });
      expect(table.get(id)?.id).toBe(id);
      const other = long.nextId();
      expect(other).toBe(`msg_0123abcd_x${n.toString(36).padStart(6, '0')}`);
      long.add({ id: other });
    }
    const po = new MemoryPostOffice({ limits: LIMITS });
    const [a, b] = await Promise.all(
      ['alice', 'bob'].map(async (id) => (await po.register({ agent_id: id })).email_address),
    );
    const sent = await po.send(a as string, { to: [b as string], subject: 'hi' });
    expect(sent.message_id).toMatch(/^msg_[0-9a-f]{8}000001$/);
    expect(sent.thread_id).toBe(`thr_${sent.message_id.slice(4)}`);
  });
});
