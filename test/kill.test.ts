import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, createRuntime, type Task } from '@mailroom/core';
import { HttpMailbox } from '@mailroom/http';
import { SqlitePostOffice } from '@mailroom/server';
import { afterAll, describe, expect, it } from 'vitest';
import { allMail, countBySubject } from './support/mail.js';
import { registerOn, startServerProcess, until } from './support/server-process.js';
import { reportAnswers } from './support/soak-report.js';

// R2 (toward the reliability issue): an agent process on SQLite killed with SIGKILL mid-run.
const root = fileURLToPath(new URL('..', import.meta.url));
const TASKS = Number(process.env.R2_TASKS ?? 300);

function startWorker(db: string, log: string, stallAfter?: number): Promise<ChildProcess> {
  const args = [db, log, ...(stallAfter === undefined ? [] : [String(stallAfter)])];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'test/fixtures/sqlite-worker.mjs'), ...args], {
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
    // Killed once it handled a third, while it works on; its handlers stop ending at two thirds, so
    // the kill comes mid-run however late a loaded machine lets this test see the third.
    const first = await startWorker(db, log, (2 * TASKS) / 3);
    await until(() => lines(log).length >= TASKS / 3);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const handledBefore = lines(log).length;
    expect(handledBefore).toBeLessThan(TASKS);

    const second = await startWorker(db, log);
    const answers = async () => countBySubject(await allMail((q) => po.inbox(boss, q)), /^RESULT:(\S+)$/);
    let results = await answers();
    await until(async () => {
      results = await answers();
      return results.size >= TASKS;
    });
    second.kill('SIGTERM');
    po.close();
    reportAnswers('R2 kill -9 of an agent process', TASKS, results, 1);
    expect([...results.keys()].sort()).toEqual([...taskIds].sort()); // none lost
    expect([...results.values()].every((n) => n === 1)).toBe(true); // none answered twice
    // Handlers run at least once; a run cut by the kill may have run once more.
    const runs = lines(log);
    expect(new Set(runs).size).toBe(TASKS);
    expect(runs.length - TASKS).toBeLessThanOrEqual(100);
  }, 60_000);

  it('mailroom-server killed mid-run: after a restart on the same file every task is answered once', async () => {
    const db = join(dir, 'server.db');
    const startServer = (port: number) => startServerProcess(db, port);
    const first = await startServer(0);
    const port = Number(new URL(first.url).port);
    const register = (id: string) => registerOn(first.url, id);
    const boss = await register('boss');
    const worker = await register('worker');
    const bossBox = await HttpMailbox.connect({ baseUrl: first.url, apiKey: boss.api_key });
    for (let i = 0; i < TASKS; i++) {
      await bossBox.send({
        to: [worker.email_address],
        subject: `TASK:s-${i} — job`,
        body_text: JSON.stringify({ task_id: `s-${i}`, description: 'x' }),
      });
    }
    const runs: string[] = [];
    const runtime = createRuntime({
      mailboxFactory: () =>
        HttpMailbox.connect({ baseUrl: first.url, apiKey: worker.api_key, retries: 5, timeoutMs: 2_000 }),
      stopTimeoutMs: 1_000,
    });
    await runtime.spawn(
      new (class Worker extends Agent {
        override onTask(task: Task) {
          runs.push(task.id);
          return task.id;
        }
      })(),
      { id: 'worker', ack: false, inbox: { retryMaxMs: 500 } },
    );
    await until(() => runs.length >= TASKS / 3);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const second = await startServer(port);
    try {
      const answered = async () => countBySubject(await allMail((q) => bossBox.inbox(q)), /^RESULT:(\S+)$/);
      let results = new Map<string, number>();
      await until(async () => {
        results = await answered();
        return results.size >= TASKS;
      }, 50_000);
      reportAnswers('R2 kill -9 of mailroom-server', TASKS, results, 1);
      expect(results.size).toBe(TASKS); // none lost
      expect([...results.values()].every((n) => n === 1)).toBe(true); // none answered twice
      expect(new Set(runs).size).toBe(TASKS);
    } finally {
      await runtime.stop();
      second.child.kill('SIGTERM');
    }
  }, 90_000);
});
