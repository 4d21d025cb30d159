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

  it('stores the usual mail (one statement) as it stores any other: copies, key, thread and participants', async () => {
    const path = join(dir, 'usual.db');
    const po = new SqlitePostOffice({ path });
    const [a, b, c] = await Promise.all(
      ['alice', 'bob', 'carol'].map(async (id) => (await po.register({ agent_id: id })).email_address),
    );
    // A reply first (it starts no thread: the rowids of messages and threads part), then the usual
    // mail and each other kind together (one group), every one with a key.
    const usual = await po.send(a as string, { to: [b as string], subject: 'usual', idempotency_key: 'k1' });
    const reply = await po.send(b as string, {
      to: [a as string],
      subject: 'Re: usual',
      in_reply_to: usual.message_id,
      idempotency_key: 'k5',
    });
    const [again, cc, bcc, self] = await Promise.all([
      po.send(a as string, { to: [b as string], subject: 'usual again', idempotency_key: 'k6' }),
      po.send(a as string, { to: [b as string], cc: [c as string], subject: 'cc', idempotency_key: 'k2' }),
      po.send(a as string, { to: [b as string], bcc: [c as string], subject: 'bcc', idempotency_key: 'k3' }),
      po.send(a as string, { to: [a as string], subject: 'to myself', idempotency_key: 'k4' }),
    ]);
    po.close();
    const db = new Database(path);
    try {
      const seqOf = (id: string) =>
        (db.prepare('SELECT seq FROM messages WHERE id = ?').get(id) as { seq: number }).seq;
      const copies = (id: string) =>
        (
          db.prepare('SELECT owner, direction FROM entries WHERE seq = ? ORDER BY owner, direction').all(seqOf(id)) as {
            owner: string;
            direction: string;
          }[]
        ).map((r) => `${r.owner.split('@')[0]} ${r.direction}`);
      const key = (owner: string, k: string) =>
        (db.prepare('SELECT seq FROM idempotency_keys WHERE owner = ? AND key = ?').get(owner, k) as { seq: number })
          .seq;
      const people = (threadId: string) =>
        (
          db.prepare('SELECT address, hidden FROM participants WHERE thread_id = ? ORDER BY address').all(threadId) as {
            address: string;
            hidden: number;
          }[]
        ).map((r) => `${r.address.split('@')[0]} ${r.hidden}`);
      expect(copies(usual.message_id)).toEqual(['alice outbound', 'bob inbound']);
      expect(copies(again.message_id)).toEqual(['alice outbound', 'bob inbound']);
      expect(copies(reply.message_id)).toEqual(['alice inbound', 'bob outbound']);
      expect(copies(cc.message_id)).toEqual(['alice outbound', 'bob inbound', 'carol inbound']);
      expect(copies(bcc.message_id)).toEqual(['alice outbound', 'bob inbound', 'carol inbound']);
      expect(copies(self.message_id)).toEqual(['alice inbound', 'alice outbound']);
      for (const [sent, k] of [
        [usual, 'k1'],
        [again, 'k6'],
        [cc, 'k2'],
        [bcc, 'k3'],
        [self, 'k4'],
      ] as const)
        expect(key(a as string, k)).toBe(seqOf(sent.message_id));
      expect(key(b as string, 'k5')).toBe(seqOf(reply.message_id));
      expect(people(usual.thread_id)).toEqual(['alice 0', 'bob 0']);
      expect(people(again.thread_id)).toEqual(['alice 0', 'bob 0']);
      expect(reply.thread_id).toBe(usual.thread_id);
      expect(people(bcc.thread_id)).toEqual(['alice 0', 'bob 0', 'carol 1']);
      const threads = db.prepare('SELECT thread_id, subject FROM threads ORDER BY subject').all() as {
        subject: string;
      }[];
      expect(threads.map((t) => t.subject)).toEqual(['bcc', 'cc', 'to myself', 'usual', 'usual again']);
      // The statement's view and trigger belong to the connection: nothing of them is in the file.
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'send_usual%'").all()).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('marks many messages read in one call: each counted once, a message sent to oneself by its received copy, none if one is unknown', async () => {
    const po = new SqlitePostOffice({ path: join(dir, 'marks-many.db') });
    const a = (await po.register({ agent_id: 'alice' })).email_address;
    const b = (await po.register({ agent_id: 'bob' })).email_address;
    const ids = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => (await po.send(a, { to: [b], subject: `m${i}` })).message_id),
    );
    const self = (await po.send(b, { to: [b], subject: 'note to self' })).message_id;
    const mine = (await po.send(b, { to: [a], subject: 'sent by bob' })).message_id;
    await po.markRead(b, [ids[0] as string]);
    await expect(po.markRead(b, [ids[1] as string, 'msg_unknown'])).rejects.toThrow(/not found/);
    expect((await po.inbox(b, { unread_only: true })).messages).toHaveLength(5);
    // Already read, twice the same, a sent copy (not marked), a message to oneself: three change.
    expect(await po.markRead(b, [...ids.slice(0, 3), ids[1] as string, mine, self])).toBe(3);
    expect((await po.inbox(b, { unread_only: true })).messages.map((m) => m.subject)).toEqual(['m3', 'm4']);
    expect(await po.markRead(b, [ids[0] as string, self, ids[3] as string], { unread: true })).toBe(2);
    expect((await po.inbox(b, { unread_only: true })).messages.map((m) => m.subject)).toEqual([
      'm0',
      'm3',
      'm4',
      'note to self',
    ]);
    expect((await po.inbox(b, { unread_only: true })).unread_count).toBe(4);
    po.close();
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
