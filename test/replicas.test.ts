import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpMailbox } from '@mailroom/http';
import { PostgresPostOffice, pgDatabase } from '@mailroom/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allMail, countBySubject } from './support/mail.js';
import { freshDatabase, postgresReachable } from './support/postgres.js';
import { inOneHourSince } from './support/quota-window.js';
import { killHard, registerAt, startAgent, startReplica, until } from './support/replicas.js';
import { reportAnswers } from './support/soak-report.js';

// mailroom-server replicas on one PostgreSQL database, as real processes (R-PG in .ci/run).
const TASKS = Number(process.env.REPLICA_TASKS ?? 2000);
const server = await postgresReachable();
const lines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);

describe.skipIf(!server)('mailroom-server replicas on PostgreSQL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-replicas-'));
  const children: ChildProcess[] = [];
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let office: PostgresPostOffice;
  /** Three replicas for the first two tests, started here: their start-ups are not what those tests time. */
  let shared: { child: ChildProcess; url: string }[] = [];
  beforeAll(async () => {
    db = await freshDatabase();
    office = await PostgresPostOffice.open({ database: pgDatabase({ connectionString: db.url }), ownsDatabase: true });
    shared = await Promise.all([replica(), replica(), replica()]);
  }, 60_000);
  afterAll(async () => {
    for (const child of children) await killHard(child);
    await office?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });
  const replica = async (port = 0) => {
    const r = await startReplica(db.url, port);
    children.push(r.child);
    return r;
  };

  // The poll is held for 30 s, longer than this test may run: an answer at all means it was woken
  // (at the end of its wait it would find the mail too, but too late).
  it('answers a long poll held by one replica when mail for it is sent through another', async () => {
    const [a, b] = shared as [(typeof shared)[0], (typeof shared)[0]];
    const alice = await registerAt(a.url, 'lp-alice');
    const bob = await registerAt(b.url, 'lp-bob');
    const bobOnA = await HttpMailbox.connect({ baseUrl: a.url, apiKey: bob.api_key });
    const aliceOnB = await HttpMailbox.connect({ baseUrl: b.url, apiKey: alice.api_key });
    const held = bobOnA.inbox({ unread_only: true, wait: 30 });
    await aliceOnB.send({ to: [bob.email_address], subject: 'across replicas' });
    const page = await held;
    expect(page.messages.map((m) => m.subject)).toEqual(['across replicas']);
  }, 29_000);

  it('keeps a quota exact when one account sends through three replicas at once', async () => {
    const rs = shared;
    const alice = await registerAt(rs[0]!.url, 'q-alice');
    const bob = await registerAt(rs[1]!.url, 'q-bob');
    await office.setLimits(alice.email_address, { hourly: 25 });
    const started = Date.now();
    const statuses = await Promise.all(
      Array.from({ length: 90 }, (_, i) =>
        fetch(`${rs[i % 3]!.url}/email/send`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': alice.api_key },
          body: JSON.stringify({ to: [bob.email_address], subject: `q${i}` }),
        }).then((r) => r.status),
      ),
    );
    const ok = statuses.filter((s) => s === 200).length;
    expect(statuses.filter((s) => s === 429)).toHaveLength(90 - ok);
    const used = (await office.account(alice.email_address)).rate_limits.hourly.used;
    expect((await office.inbox(bob.email_address, { limit: 100 })).messages).toHaveLength(ok);
    if (inOneHourSince(started)) {
      expect({ ok, used }).toEqual({ ok: 25, used: 25 });
    } else {
      // An hour began during the race (the replicas read the wall clock): each window held its 25.
      expect(ok).toBeLessThanOrEqual(50);
      expect(used).toBeLessThanOrEqual(25);
    }
    for (const r of rs) await killHard(r.child);
  });

  it(`3 replicas, 4 agent processes (2 a worker pool on one address), ${TASKS} tasks, one replica and one pool worker killed with SIGKILL: every task answered once`, async () => {
    const rs = [await replica(), await replica(), await replica()];
    const urls = rs.map((r) => r.url);
    const order = (first: number) => [0, 1, 2].map((i) => urls[(first + i) % 3]).join(',');
    const boss = await registerAt(urls[0] as string, 'boss');
    const pool = await registerAt(urls[1] as string, 'pool');
    const solo = await registerAt(urls[2] as string, 'solo');
    const logs = { pool1: join(dir, 'pool1.log'), pool2: join(dir, 'pool2.log'), solo: join(dir, 'solo.log') };
    const sentLog = join(dir, 'sent.log');
    const pool1 = await startAgent(['worker', order(0), pool.api_key, logs.pool1]);
    const pool2 = await startAgent(['worker', order(1), pool.api_key, logs.pool2]);
    const soloAgent = await startAgent(['worker', order(2), solo.api_key, logs.solo]);
    const bossAgent = await startAgent([
      'boss',
      order(0),
      boss.api_key,
      sentLog,
      String(TASKS),
      pool.email_address,
      solo.email_address,
    ]);
    children.push(pool1, pool2, soloAgent, bossAgent);
    const handled = () => lines(logs.pool1).length + lines(logs.pool2).length + lines(logs.solo).length;

    await until(() => handled() >= TASKS / 4 && lines(logs.pool2).length > 0, 150_000);
    // Replica 0 serves the boss and pool worker 1 first; pool worker 2 dies with its leases held.
    await killHard(rs[0]!.child);
    await killHard(pool2);
    const handledAtKill = handled();
    expect(handledAtKill).toBeLessThan(TASKS);
    // Replica 0 comes back on its port; clients that moved on stay where they are.
    const back = await replica(Number(new URL(urls[0] as string).port));
    // The boss reads nothing: its unread count is the number of answers (one query a look).
    await until(async () => (await office.inbox(boss.email_address, { limit: 1 })).unread_count >= TASKS, 120_000);
    const results = countBySubject(await allMail((q) => office.inbox(boss.email_address, q)), /^RESULT:(\S+)$/);
    reportAnswers(`R-PG ${TASKS} tasks, 3 replicas, a replica and a pool worker killed`, TASKS, results, 1);
    const taskIds = Array.from({ length: TASKS }, (_, i) => `t-${i}`);
    expect([...results.keys()].sort()).toEqual(taskIds.sort()); // none lost
    expect([...results.values()].every((n) => n === 1)).toBe(true); // none answered twice
    // Every send the boss saw answered is in the database.
    const sent = new Set(
      (await allMail((q) => office.sent(boss.email_address, q).then((p) => ({ ...p, unread_count: 0 })))).map(
        (m) => m.message_id,
      ),
    );
    const answered = lines(sentLog);
    expect(answered.length).toBe(TASKS);
    expect(answered.every((id) => sent.has(id))).toBe(true);
    // Both pool workers ran tasks of the pool; what pool worker 2 held when it died ran on worker 1.
    expect(lines(logs.pool1).length).toBeGreaterThan(0);
    expect(lines(logs.pool2).length).toBeGreaterThan(0);
    expect(new Set([...lines(logs.pool1), ...lines(logs.pool2), ...lines(logs.solo)]).size).toBe(TASKS);
    // The replica that came back serves what was sent while it was gone.
    const bossOnBack = await HttpMailbox.connect({ baseUrl: back.url, apiKey: boss.api_key });
    expect((await bossOnBack.inbox({ limit: 1 })).unread_count).toBe(TASKS);
    await killHard(back.child);
    for (const r of rs) await killHard(r.child);
  }, 400_000);
});
