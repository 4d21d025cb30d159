import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../testing/manual-clock.js';
import type { InboxPage, Message } from '../../wire/model.js';
import { LeaseTable } from './lease-table.js';

const mail = (n: number) => Array.from({ length: n }, (_, i) => ({ message_id: `m${i}`, subject: `m${i}` }) as Message);
const page = (messages: Message[], cursor: string | null): InboxPage => ({
  messages,
  total: messages.length,
  unread_count: 150,
  has_more: cursor !== null,
  cursor,
});

describe('LeaseTable', () => {
  // A claim leases what it picks as it walks; one whose next page fails takes its picks back. A
  // claim that skipped them meanwhile (they were held) waits for a wake-up to look again.
  it('wakes the address when a claim that failed mid-walk gives back what it had picked', async () => {
    const woken: string[] = [];
    const table = new LeaseTable(new ManualClock(), (address) => woken.push(address));
    const first = mail(50);
    let failNext!: (err: Error) => void;
    const secondPage = new Promise<InboxPage>((_, reject) => (failNext = reject));
    const walking = table.claim('pool@x', { limit: 100 }, (q) =>
      q.cursor === undefined ? Promise.resolve(page(first, 'c1')) : secondPage,
    );
    // While the first claim waits for its second page, its picks are held: another claim gets none.
    await new Promise<void>((r) => setImmediate(r));
    const meanwhile = await table.claim('pool@x', { limit: 10 }, async () => page(first, null));
    expect(meanwhile.messages).toEqual([]);
    failNext(new Error('the database went away'));
    await expect(walking).rejects.toThrow('the database went away');
    expect(woken).toEqual(['pool@x']);
    const after = await table.claim('pool@x', { limit: 10 }, async () => page(first, null));
    expect(after.messages).toHaveLength(10);
  });
});
