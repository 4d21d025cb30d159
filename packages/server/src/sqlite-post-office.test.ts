import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RateLimitedError } from '@mailroom/core';
import { ManualClock, postOfficeConformance } from '@mailroom/core/testing';
import Database from 'libsql';
import { afterAll, describe, expect, it } from 'vitest';
import { SqlitePostOffice } from './sqlite-post-office.js';
import { SQL } from './statements.js';

const dir = mkdtempSync(join(tmpdir(), 'mailroom-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

postOfficeConformance(
  'SqlitePostOffice',
  ({ clock, limits, domain }) => new SqlitePostOffice({ path: join(dir, `po-${++n}.db`), clock, limits, domain }),
);

describe('SqlitePostOffice', () => {
  it('keeps accounts, mail, read state, threads and quotas across a restart', async () => {
    const path = join(dir, 'restart.db');
    const clock = new ManualClock();
    const first = new SqlitePostOffice({ path, clock, limits: { hourly: 5, daily: 50 } });
    const a = await first.register({ agent_id: 'alice' });
    const b = await first.register({ agent_id: 'bob' });
    const root = await first.send(a.email_address, { to: [b.email_address], subject: 'hello', body_text: 'one' });
    await first.send(b.email_address, { to: [a.email_address], subject: 'Re: hello', in_reply_to: root.message_id });
    await first.send(a.email_address, { to: [b.email_address], subject: 'second' });
    await first.markRead(b.email_address, [root.message_id]);
    first.close();

    const second = new SqlitePostOffice({ path, clock, limits: { hourly: 5, daily: 50 } });
    expect(await second.authenticate(a.api_key)).toBe(a.email_address);
    const unread = await second.inbox(b.email_address, { unread_only: true });
    expect(unread.messages.map((m) => m.subject)).toEqual(['second']);
    const thread = await second.thread(a.email_address, root.thread_id);
    expect(thread.messages.map((m) => m.subject)).toEqual(['hello', 'Re: hello']);
    expect((await second.account(a.email_address)).rate_limits.hourly.used).toBe(2);
    const next = await second.send(a.email_address, { to: [b.email_address], subject: 'after restart' });
    expect(next.message_id).not.toBe(root.message_id);
    second.close();
  });

  it('counts every send of one group commit: quota used, totals sent and received, the send past the quota refused alone', async () => {
    const path = join(dir, 'tally.db');
    const clock = new ManualClock();
    const po = new SqlitePostOffice({ path, clock, limits: { hourly: 5, daily: 50 } });
    const a = (await po.register({ agent_id: 'alice' })).email_address;
    const b = (await po.register({ agent_id: 'bob' })).email_address;
    const c = (await po.register({ agent_id: 'carol' })).email_address;
    // Started together: one group, one transaction.
    const outcomes = await Promise.allSettled([
      ...Array.from({ length: 4 }, (_, i) => po.send(a, { to: [b], subject: `a${i}` })),
      po.send(b, { to: [a, c], subject: 'from bob' }),
      po.send(a, { to: [b, c], subject: 'a4' }),
      po.send(a, { to: [c], subject: 'a5, one past the quota' }),
      po.send(c, { to: [b], subject: 'from carol' }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect((outcomes[6] as PromiseRejectedResult).reason).toBeInstanceOf(RateLimitedError);
    const check = async (office: SqlitePostOffice) => {
      const [alice, bob, carol] = await Promise.all([office.account(a), office.account(b), office.account(c)]);
      expect([alice.rate_limits.hourly.used, alice.total_sent, alice.total_received]).toEqual([5, 5, 1]);
      expect([bob.rate_limits.hourly.used, bob.total_sent, bob.total_received]).toEqual([1, 1, 6]);
      expect([carol.rate_limits.hourly.used, carol.total_sent, carol.total_received]).toEqual([1, 1, 2]);
    };
    await check(po);
    // The next group sees what the last one counted.
    await expect(po.send(a, { to: [b], subject: 'still over' })).rejects.toBeInstanceOf(RateLimitedError);
    po.close();
    const again = new SqlitePostOffice({ path, clock, limits: { hourly: 5, daily: 50 } });
    await check(again);
    again.close();
  });

  it('keeps a read mark that still waits for its group commit when the office closes', async () => {
    const path = join(dir, 'close-marks.db');
    const po = new SqlitePostOffice({ path });
    const a = (await po.register({ agent_id: 'alice' })).email_address;
    const b = (await po.register({ agent_id: 'bob' })).email_address;
    const sent = await po.send(a, { to: [b], subject: 'read me' });
    const marked = po.markRead(b, [sent.message_id]);
    po.close();
    expect(await marked).toBe(1);
    const again = new SqlitePostOffice({ path });
    expect((await again.inbox(b, { unread_only: true })).messages).toHaveLength(0);
    again.close();
  });

  it('walks only unread mail for an unread page and the unread count, however much mail was read before', async () => {
    const path = join(dir, 'unread.db');
    const po = new SqlitePostOffice({ path });
    const a = (await po.register({ agent_id: 'alice' })).email_address;
    const b = (await po.register({ agent_id: 'bob' })).email_address;
    const sent = await Promise.all(Array.from({ length: 60 }, (_, i) => po.send(a, { to: [b], subject: `m${i}` })));
    await po.markRead(
      b,
      sent.slice(0, 58).map((s) => s.message_id),
    );
    const page = await po.inbox(b, { unread_only: true, from_address: a });
    expect(page.messages.map((m) => m.subject)).toEqual(['m58', 'm59']);
    expect(page.unread_count).toBe(2);
    // The plans SQLite makes for them use the partial index of unread mail (O(unread), not O(mailbox)).
    const db = new Database(path);
    try {
      const plan = (sql: string, ...args: unknown[]) =>
        (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[]).map((r) => r.detail).join(' | ');
      expect(plan(SQL.inboxUnread, b, 0, 101)).toMatch(/USING INDEX entries_unread/);
      expect(plan(SQL.inboxUnreadFrom, b, 0, a, 101)).toMatch(/USING INDEX entries_unread/);
      expect(plan(SQL.unreadCount, b)).toMatch(/USING INDEX entries_unread/);
    } finally {
      db.close();
      po.close();
    }
  });

  it('answers a repeated idempotency key with the first answer, also for a key an older file kept with its whole answer', async () => {
    const path = join(dir, 'idempotency.db');
    const first = new SqlitePostOffice({ path });
    const a = (await first.register({ agent_id: 'alice' })).email_address;
    const b = (await first.register({ agent_id: 'bob' })).email_address;
    const kept = await first.send(a, { to: [b], subject: 'once', body_text: 'only once', idempotency_key: 'k-new' });
    const older = await first.send(a, { to: [b], subject: 'kept the old way', idempotency_key: 'k-old' });
    await first.markRead(b, [kept.message_id]);
    expect(await first.send(a, { to: [b], subject: 'again', idempotency_key: 'k-new' })).toEqual(kept);
    first.close();
    // A file of the code before `idempotency_keys`: its keys sit in `idempotency`, each with its whole answer.
    const db = new Database(path);
    db.prepare('INSERT INTO idempotency (owner, key, result_json) VALUES (?, ?, ?)').run(
      a,
      'k-old',
      JSON.stringify(older),
    );
    db.prepare('DELETE FROM idempotency_keys WHERE key = ?').run('k-old');
    db.close();

    const second = new SqlitePostOffice({ path });
    expect(await second.send(a, { to: [b], subject: 'again', idempotency_key: 'k-new' })).toEqual(kept);
    expect(await second.send(a, { to: [b], subject: 'again', idempotency_key: 'k-old' })).toEqual(older);
    expect((await second.account(a)).total_sent).toBe(2);
    const reply = await second.send(b, { to: [a], subject: 'Re: once', in_reply_to: kept.message_id });
    expect(reply.thread_id).toBe(kept.thread_id);
    expect((await second.thread(a, kept.thread_id)).messages.map((m) => m.subject)).toEqual(['once', 'Re: once']);
    second.close();
  });

  it('stores API keys hashed, never in the clear', async () => {
    const path = join(dir, 'keys.db');
    const po = new SqlitePostOffice({ path });
    const reg = await po.register({ agent_id: 'alice' });
    po.close();
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(path).includes(Buffer.from(reg.api_key))).toBe(false);
  });
});
