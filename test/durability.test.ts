import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlitePostOffice } from '@mailroom/server';
import Database from 'libsql';
import { afterAll, describe, expect, it } from 'vitest';
import { startCli } from './support/cli.js';

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
      /** Frames appended to the WAL by `work` (each commit appends the pages it changed). */
      const frames = async (work: () => Promise<unknown>) => {
        other.exec('PRAGMA wal_checkpoint(TRUNCATE)');
        await work();
        const [row] = other.prepare('PRAGMA wal_checkpoint(PASSIVE)').raw().all() as number[][];
        return row?.[1] ?? 0;
      };
      const together = await frames(() =>
        Promise.all(Array.from({ length: 50 }, (_, i) => po.send(a, { to: [b], subject: `together ${i}` }))),
      );
      const oneByOne = await frames(async () => {
        for (let i = 0; i < 50; i++) await po.send(a, { to: [b], subject: `alone ${i}` });
      });
      expect(together * 5).toBeLessThan(oneByOne);
      expect((await po.sent(a, { limit: 100 })).messages).toHaveLength(100);
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
