// WAL pages a send writes in the SQLite office (a noise-free measure of its write volume): P3's
// traffic (a TASK in a new thread, a RESULT in reply, each with an idempotency key as HttpMailbox
// sends it) in groups of 64 sent at once, after `warm` round trips so the indexes are not tiny.
// Each group commits together; the frames it appends to the WAL are the pages it changed.
//   node bench/dist/wal-pages.js <server index.js> [more builds…] [--warm=2000] [--groups=5] [--ordered-keys]
// Prints, per build, the median (min–max) pages per TASK send and per RESULT send.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SqlitePostOffice } from '@mailroom/server';
import { median } from './result.js';

type Office = Pick<SqlitePostOffice, 'register' | 'send' | 'close'>;
type Db = {
  exec(sql: string): void;
  prepare(sql: string): { raw(): { all(): unknown[][] } };
  close(): void;
};

const IN_FLIGHT = 64;
/** `--ordered-keys`: idempotency keys that start with the time (as ids do), not random UUIDs. */
const ORDERED_KEYS = process.argv.includes('--ordered-keys');
const key = () => (ORDERED_KEYS ? `${Date.now().toString(16).padStart(12, '0')}-${randomUUID()}` : randomUUID());

async function measure(
  modulePath: string,
  warm: number,
  groups: number,
): Promise<{ task: number[]; result: number[] }> {
  const { SqlitePostOffice: Office } = (await import(pathToFileURL(modulePath).href)) as {
    SqlitePostOffice: new (o: object) => Office;
  };
  const Database = createRequire(modulePath)('libsql') as new (path: string) => Db;
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-wal-pages-'));
  const path = join(dir, 'mail.db');
  const po = new Office({ path, durability: 'full', limits: { hourly: 1e8, daily: 1e9 } });
  const other = new Database(path);
  const frames = async (work: () => Promise<unknown>): Promise<number> => {
    other.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    await work();
    const [row] = other.prepare('PRAGMA wal_checkpoint(PASSIVE)').raw().all() as number[][];
    return row?.[1] ?? 0;
  };
  try {
    const req = (await po.register({ agent_id: 'requester' })).email_address;
    const worker = (await po.register({ agent_id: 'worker' })).email_address;
    let n = 0;
    const tasks = () =>
      Promise.all(
        Array.from({ length: IN_FLIGHT }, () => {
          const i = n++;
          return po.send(req, {
            to: [worker],
            subject: `TASK:t-${i} — noop`,
            body_text: JSON.stringify({ task_id: `t-${i}`, description: 'nothing', input: { n: i } }),
            idempotency_key: key(),
          });
        }),
      );
    const results = (sent: { message_id: string }[]) =>
      Promise.all(
        sent.map((t, i) =>
          po.send(worker, {
            to: [req],
            subject: `RESULT:t-${i} — noop`,
            body_text: JSON.stringify({ task_id: `t-${i}`, result: null }),
            in_reply_to: t.message_id,
            idempotency_key: key(),
          }),
        ),
      );
    for (let w = 0; w < warm; w += IN_FLIGHT) await results(await tasks());
    const task: number[] = [];
    const result: number[] = [];
    for (let g = 0; g < groups; g++) {
      let sent: { message_id: string }[] = [];
      task.push(
        (await frames(async () => {
          sent = await tasks();
        })) / IN_FLIGHT,
      );
      result.push((await frames(() => results(sent))) / IN_FLIGHT);
    }
    return { task, result };
  } finally {
    other.close();
    po.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
const option = (name: string, fallback: number) =>
  Number(args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const builds = args.filter((a) => !a.startsWith('--')).map((a) => resolve(a));
if (builds.length === 0) {
  process.stderr.write('usage: node bench/dist/wal-pages.js <server index.js> [more…] [--warm=2000] [--groups=5]\n');
  process.exit(2);
}
const fmt = (xs: number[]) => `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;
for (const build of builds) {
  const { task, result } = await measure(build, option('warm', 2000), option('groups', 5));
  process.stdout.write(`${build}\n  WAL pages per TASK send ${fmt(task)}, per RESULT send ${fmt(result)}\n`);
}
