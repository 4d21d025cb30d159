import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlitePostOffice } from '@mailroom/server';
import Database from 'libsql';
import { afterAll, describe, expect, it } from 'vitest';
import { startCli } from './support/cli.js';

/** Frames `work` appends to the WAL of the file `other` is open on (each commit appends the pages it changed). */
async function walFrames(other: Database.Database, work: () => Promise<unknown>): Promise<number> {
  other.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  await work();
  const [row] = other.prepare('PRAGMA wal_checkpoint(PASSIVE)').raw().all() as number[][];
  return row?.[1] ?? 0;
}

describe('durability of the SQLite office', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-durability-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('commits concurrent sends in groups: fifty at once write a fraction of the WAL frames of fifty one by one', async () => {
    const path = join(dir, 'groups.db');
    const po = new SqlitePostOffice({ path });
    const other = new Database(path);
    try {
      const a = (await po.register({ agent_id: 'alice' })).email_address;
      const b = (await po.register({ agent_id: 'bob' })).email_address;
      const together = await walFrames(other, () =>
        Promise.all(Array.from({ length: 50 }, (_, i) => po.send(a, { to: [b], subject: `together ${i}` }))),
      );
      const oneByOne = await walFrames(other, async () => {
        for (let i = 0; i < 50; i++) await po.send(a, { to: [b], subject: `alone ${i}` });
      });
      expect(together * 5).toBeLessThan(oneByOne);
      expect((await po.sent(a, { limit: 100 })).messages).toHaveLength(100);
    } finally {
      other.close();
      po.close();
    }
  });

  it('commits read marks in groups too, with the sends of the same moment: fifty marks at once are not fifty commits', async () => {
    const path = join(dir, 'marks.db');
    const po = new SqlitePostOffice({ path });
    const other = new Database(path);
    try {
      const a = (await po.register({ agent_id: 'alice' })).email_address;
      const b = (await po.register({ agent_id: 'bob' })).email_address;
      const ids: string[] = [];
      for (let i = 0; i < 100; i++) ids.push((await po.send(a, { to: [b], subject: `mail ${i}` })).message_id);
      const together = await walFrames(other, () =>
        Promise.all([
          ...ids.slice(0, 50).map((id) => po.markRead(b, [id])),
          po.send(b, { to: [a], subject: 'answer' }),
        ]),
      );
      const oneByOne = await walFrames(other, async () => {
        for (const id of ids.slice(50)) await po.markRead(b, [id]);
      });
      expect(together * 5).toBeLessThan(oneByOne);
      // Every mark was kept, and a mark that fails (an unknown id) fails alone.
      const unread = await po.inbox(b, { unread_only: true });
      expect(unread.messages).toHaveLength(0);
      const results = await Promise.allSettled([
        po.markRead(b, ['msg_nope']),
        po.markRead(b, [ids[0] as string], { unread: true }),
      ]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
      expect((await po.inbox(b, { unread_only: true })).messages.map((m) => m.message_id)).toEqual([ids[0]]);
      expect((await po.inbox(a, { unread_only: true })).messages.map((m) => m.subject)).toEqual(['answer']);
    } finally {
      other.close();
      po.close();
    }
  });

  it('mailroom-server keeps every answered send by default (durability full); --durability fast is the documented opt-out', async () => {
    const db = join(dir, 'cli.db');
    const full = await startCli(['--db', db]);
    expect(await full.stop()).toBe(0);
    expect(full.log()).toContain('"durability":"full"');
    const fast = await startCli(['--db', db, '--durability', 'fast']);
    expect(await fast.stop()).toBe(0);
    expect(fast.log()).toContain('"durability":"fast"');
    await expect(startCli(['--db', db, '--durability', 'sometimes'])).rejects.toThrow(
      /--durability must be full or fast/,
    );
  });
});
