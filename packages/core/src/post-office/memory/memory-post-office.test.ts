import { describe, expect, it } from 'vitest';
import { ManualClock, postOfficeConformance } from '../../testing/index.js';
import { MemoryPostOffice } from './memory-post-office.js';

postOfficeConformance(
  'MemoryPostOffice',
  ({ clock, limits, domain }) => new MemoryPostOffice({ clock, limits, domain }),
);

describe('MemoryPostOffice', () => {
  it('refuses mail to another domain with a clear error', async () => {
    const po = new MemoryPostOffice({ clock: new ManualClock() });
    const a = await po.register({ agent_id: 'alice' });
    await expect(po.send(a.email_address, { to: ['x@example.com'], subject: 'hi' })).rejects.toThrow(
      /external delivery is not supported/,
    );
  });

  it('finds the unread mail of a large, mostly read inbox in arrival order', async () => {
    const po = new MemoryPostOffice({ limits: { hourly: 1e9, daily: 1e9 } });
    const a = (await po.register({ agent_id: 'alice' })).email_address;
    const b = (await po.register({ agent_id: 'bob' })).email_address;
    const ids: string[] = [];
    for (let i = 0; i < 20_000; i++) ids.push((await po.send(a, { to: [b], subject: `m${i}` })).message_id);
    // Read every other message out of order: the unread index must skip them without a scan.
    for (let i = 0; i < ids.length - 1; i += 100) await po.markRead(b, ids.slice(i, i + 99));
    const page = await po.inbox(b, { unread_only: true, limit: 5 });
    expect(page.messages.map((m) => m.subject)).toEqual(['m99', 'm199', 'm299', 'm399', 'm499']);
    expect(page.unread_count).toBe(200);
  });
});
