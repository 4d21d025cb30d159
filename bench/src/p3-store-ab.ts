// The server's share of a P3 round trip, without HTTP: the calls a requester and a worker make on
// the SQLite office for one task (send TASK, worker's inbox page, worker marks it read, send RESULT
// in reply, requester's inbox page, requester marks it read), 64 tasks in flight, durability full.
// Compares two builds of @mailroom/server, alternately, in fresh processes:
//   node bench/dist/p3-store-ab.js <server index.js A> <server index.js B> [rounds=3] [tasks=3000]
// Prints round trips/s and CPU ms per round trip of each, per round, and the median ratio B / A.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { SqlitePostOffice } from '@mailroom/server';
import { median } from './result.js';

type Office = Pick<SqlitePostOffice, 'register' | 'send' | 'inbox' | 'markRead' | 'close'>;

async function one(modulePath: string, tasks: number): Promise<{ perSec: number; cpuMs: number }> {
  const { SqlitePostOffice: Office } = (await import(pathToFileURL(modulePath).href)) as {
    SqlitePostOffice: new (o: object) => Office;
  };
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-store-ab-'));
  const po = new Office({ path: join(dir, 'mail.db'), durability: 'full', limits: { hourly: 1e7, daily: 1e8 } });
  try {
    const req = (await po.register({ agent_id: 'requester' })).email_address;
    const worker = (await po.register({ agent_id: 'worker' })).email_address;
    let next = 0;
    const roundTrip = async (i: number) => {
      const task = await po.send(req, {
        to: [worker],
        subject: `TASK:t-${i} — noop`,
        body_text: JSON.stringify({ task_id: `t-${i}`, description: 'nothing', input: { n: i } }),
        idempotency_key: `k-${i}`,
      });
      await po.inbox(worker, { unread_only: true, limit: 100 });
      await po.markRead(worker, [task.message_id]);
      const result = await po.send(worker, {
        to: [req],
        subject: `RESULT:t-${i} — noop`,
        body_text: JSON.stringify({ task_id: `t-${i}`, result: null }),
        in_reply_to: task.message_id,
        idempotency_key: `r-${i}`,
      });
      await po.inbox(req, { unread_only: true, limit: 100 });
      await po.markRead(req, [result.message_id]);
    };
    const run = async (n: number) => {
      const end = next + n;
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          for (let i = next++; i < end; i = next++) await roundTrip(i);
        }),
      );
      next = end;
    };
    await run(300); // warm-up
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await run(tasks);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { perSec: Math.round(tasks / seconds), cpuMs: Number(((cpu.user + cpu.system) / 1000 / tasks).toFixed(3)) };
  } finally {
    po.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const [a, b, rounds = '3', tasks = '3000'] = process.argv.slice(2);
if (a === '--one' && b) {
  process.stdout.write(`${JSON.stringify(await one(b, Number(rounds)))}\n`);
} else if (a && b) {
  const self = fileURLToPath(import.meta.url);
  const ratios: number[] = [];
  for (let r = 1; r <= Number(rounds); r++) {
    const got = [a, b].map((m) => {
      const out = spawnSync(process.execPath, [self, '--one', m, tasks], { encoding: 'utf8' });
      if (out.status !== 0) throw new Error(out.stderr);
      return JSON.parse(out.stdout.trim().split('\n').pop() as string) as { perSec: number; cpuMs: number };
    });
    const [ra, rb] = got as [{ perSec: number; cpuMs: number }, { perSec: number; cpuMs: number }];
    ratios.push(rb.perSec / ra.perSec);
    process.stdout.write(
      `round ${r}: A ${ra.perSec}/s ${ra.cpuMs} ms CPU per round trip; B ${rb.perSec}/s ${rb.cpuMs} ms; B/A ${(rb.perSec / ra.perSec).toFixed(2)}\n`,
    );
  }
  process.stdout.write(
    `B/A round trips/s: median ${median(ratios).toFixed(2)} [${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}]\n`,
  );
} else {
  process.stderr.write(
    'usage: node bench/dist/p3-store-ab.js <server index.js A> <server index.js B> [rounds] [tasks]\n',
  );
  process.exit(2);
}
