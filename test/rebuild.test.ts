import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, createRuntime, defineTask, type Mailbox, type Message, type Task } from '@mailroom/core';
import { HttpMailbox } from '@mailroom/http';
import { SqlitePostOffice } from '@mailroom/server';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { allMail } from './support/mail.js';
import { registerOn, startServerProcess, until } from './support/server-process.js';

// Task state rebuilt from the mail: a requester process killed with SIGKILL after sending, then
// restarted, collects every answer — those it had read before it died (only the threads keep
// them) and those that came while it was dead — and asks again by task id without a second TASK.
const root = fileURLToPath(new URL('..', import.meta.url));
const N = 10;
const Echo = defineTask({
  name: 'echo',
  input: z.object({ n: z.number() }),
  output: z.object({ n: z.number(), by: z.string() }),
});

/** Every process started here, killed when the file is done (whatever failed). */
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Runs the requester fixture; resolves with the process once it printed `waitFor`, and its output. */
function requester(args: string[], waitFor: string) {
  return new Promise<{ child: ChildProcess; out: () => string }>((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'test/fixtures/requester.mjs'), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
      if (out.includes(waitFor)) resolve({ child, out: () => out });
    });
    child.on('exit', (code, signal) => {
      if (!out.includes(waitFor)) reject(new Error(`requester exited early (${code ?? signal}): ${out}`));
    });
  });
}

/** The worker: answers the first half at once; the second half waits for `gate` (the requester is dead by then). */
function worker(gate: Promise<void>, runs: Map<string, number>) {
  const hold = async (n: number) => {
    if (n >= N / 2) await gate;
  };
  return new (class Worker extends Agent {
    constructor() {
      super();
      this.handle(Echo, async ({ n }, _ctx, task) => {
        runs.set(task.id, (runs.get(task.id) ?? 0) + 1);
        await hold(n);
        return { n, by: 'worker' };
      });
    }
    override async onTask(task: Task) {
      runs.set(task.id, (runs.get(task.id) ?? 0) + 1);
      const { n } = task.input as { n: number };
      await hold(n);
      return { done: n };
    }
  })();
}

/** The whole scenario, over any transport: send, kill -9, answer, restart, collect. */
async function scenario(options: { dir: string; requesterArgs: string[]; bossInbox: Mailbox; workerMailbox: Mailbox }) {
  const ids = join(options.dir, `ids-${Math.random().toString(36).slice(2)}.txt`);
  const [mode, transport, target, key, workerAddress] = options.requesterArgs;
  const args = (m: string) => [m, transport, target, key, workerAddress, ids, String(N)] as string[];
  void mode;
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const runs = new Map<string, number>();
  const runtime = createRuntime({});
  await runtime.spawn(worker(gate, runs), {
    mailbox: options.workerMailbox,
    ack: true,
    // Mail from another process wakes no one here: poll often. Two processes write one SQLite
    // file, so a poll may meet SQLITE_BUSY: retry it soon, not after a long backoff.
    inbox: { maxBackoffMs: 100, heartbeatMs: 100, retryMaxMs: 200 },
  });
  const results = async (): Promise<Message[]> =>
    (await allMail((q) => options.bossInbox.inbox(q))).filter((m) => m.subject.startsWith('RESULT:'));
  try {
    const first = await requester(args('send'), 'sent');
    // The requester handled (and marked read) the answers of the first half before it died.
    await until(async () => (await results()).filter((m) => m.read_at !== null).length >= N);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    open();
    await until(async () => (await results()).length >= 2 * N);
    expect((await results()).filter((m) => m.read_at === null)).toHaveLength(N); // came while it was dead

    const second = await requester(args('collect'), '\n');
    await new Promise((r) => second.child.once('exit', r));
    const { collected, asked } = JSON.parse(second.out().trim()) as {
      collected: { state: string; result: unknown }[];
      asked: unknown[];
    };
    expect(collected.map((o) => o.state)).toEqual(Array(N).fill('completed'));
    expect(collected.map((o) => o.result)).toEqual(Array.from({ length: N }, (_, n) => ({ done: n })));
    expect(asked).toEqual(Array.from({ length: N }, (_, n) => ({ n, by: 'worker' })));
    // Every task ran once: asking again by task id sent no second TASK.
    expect(runs.size).toBe(2 * N);
    expect([...runs.values()].every((r) => r === 1)).toBe(true);
  } finally {
    await runtime.stop();
  }
}

describe('task state rebuilt from the mail after kill -9 of the requester', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-rebuild-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('on a SQLite office: the restarted requester collects and asks every answer', async () => {
    const db = join(dir, 'mail.db');
    const po = new SqlitePostOffice({ path: db, limits: { hourly: 1e6, daily: 1e7 } });
    const boss = (await po.register({ agent_id: 'boss' })).email_address;
    const workerAddress = (await po.register({ agent_id: 'worker' })).email_address;
    const { LocalMailbox } = await import('@mailroom/core');
    try {
      await scenario({
        dir,
        requesterArgs: ['send', 'sqlite', db, '-', workerAddress],
        bossInbox: new LocalMailbox(po, boss),
        workerMailbox: new LocalMailbox(po, workerAddress),
      });
    } finally {
      po.close();
    }
  }, 60_000);

  it('over HTTP (mailroom-server): the restarted requester collects and asks every answer', async () => {
    const db = join(dir, 'server.db');
    const { child: server, url } = await startServerProcess(db);
    children.push(server);
    try {
      const register = (id: string) => registerOn(url, id);
      const boss = await register('boss');
      const workerAccount = await register('worker');
      await scenario({
        dir,
        requesterArgs: ['send', 'http', url, boss.api_key, workerAccount.email_address],
        bossInbox: await HttpMailbox.connect({ baseUrl: url, apiKey: boss.api_key }),
        workerMailbox: await HttpMailbox.connect({ baseUrl: url, apiKey: workerAccount.api_key }),
      });
    } finally {
      server.kill('SIGTERM');
    }
  }, 60_000);
});
