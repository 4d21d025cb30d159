import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { SqlitePostOffice } from '@mailroom/server';
import { afterAll, describe, expect, it } from 'vitest';

// R2 (toward the reliability issue): an agent process on SQLite killed with SIGKILL mid-run.
const root = fileURLToPath(new URL('..', import.meta.url));
const TASKS = 300;

function startWorker(db: string, log: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'test/fixtures/sqlite-worker.mjs'), db, log], {
      cwd: join(root, 'packages/server'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout?.on('data', (d) => {
      if (String(d).includes('ready')) resolve(child);
    });
    child.on('exit', (code, signal) => reject(new Error(`worker exited early (${code ?? signal})`)));
  });
}

const lines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);
/** Waits for another process to get somewhere: a bounded poll of what it writes (no ordering by sleep). */
const until = async (check: () => boolean | Promise<boolean>, limitMs = 30_000) => {
  const end = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('the other process did not get there in time');
    await delay(20);
  }
};

describe('R2: kill -9', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-kill-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('an agent process killed mid-run: after a restart every task is answered once, none lost', async () => {
    const db = join(dir, 'mail.db');
    const log = join(dir, 'handled.log');
    const po = new SqlitePostOffice({ path: db, limits: { hourly: 1e6, daily: 1e7 } });
    const boss = (await po.register({ agent_id: 'boss' })).email_address;
    const worker = (await po.register({ agent_id: 'worker' })).email_address;
    const taskIds: string[] = [];
    for (let i = 0; i < TASKS; i++) {
      const id = `t-${i}`;
      taskIds.push(id);
      await po.send(boss, {
        to: [worker],
        subject: `TASK:${id} — job`,
        body_text: JSON.stringify({ task_id: id, description: 'x' }),
      });
    }
    const first = await startWorker(db, log);
    await until(() => lines(log).length >= TASKS / 3);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const handledBefore = lines(log).length;
    expect(handledBefore).toBeLessThan(TASKS);

    const second = await startWorker(db, log);
    const answers = async () => {
      const seen = new Map<string, number>();
      let cursor: string | undefined;
      do {
        const page = await po.inbox(boss, { limit: 100, ...(cursor ? { cursor } : {}) });
        for (const m of page.messages) {
          const id = /^RESULT:(\S+)$/.exec(m.subject)?.[1];
          if (id) seen.set(id, (seen.get(id) ?? 0) + 1);
        }
        cursor = page.has_more ? (page.cursor ?? undefined) : undefined;
      } while (cursor);
      return seen;
    };
    let results = await answers();
    await until(async () => {
      results = await answers();
      return results.size >= TASKS;
    });
    second.kill('SIGTERM');
    po.close();
    expect([...results.keys()].sort()).toEqual([...taskIds].sort()); // none lost
    expect([...results.values()].every((n) => n === 1)).toBe(true); // none answered twice
    // Handlers run at least once; a run cut by the kill may have run once more.
    const runs = lines(log);
    expect(new Set(runs).size).toBe(TASKS);
    expect(runs.length - TASKS).toBeLessThanOrEqual(100);
  }, 60_000);
});
