// Requests per message over HttpMailbox ↔ mailroom-server, counted on the server: N messages sent
// with 64 in flight to an agent (a runtime on HttpMailbox) that handles and marks each read; once
// with push and batch send offered, once with them turned off (long poll, batch read, one send a
// request: the client of before); then the same one message at a time (send, wait for its handler). Also counts the TCP connections the clients opened (keep-alive).
// Run: pnpm build && node bench/dist/requests-per-message.js [N] [ROUNDS]

import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, createRuntime, type Message } from '@mailroom/core';
import { HttpMailbox } from '@mailroom/http';
import { buildServer, SqlitePostOffice } from '@mailroom/server';

const N = Number(process.argv[2] ?? 2000);
const CONCURRENCY = 64;

async function run(extensions: { push: boolean; batchSend: boolean }, concurrency: number, n: number) {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-rpm-'));
  const postOffice = new SqlitePostOffice({ path: join(dir, 'mail.db'), limits: { hourly: 1e7, daily: 1e8 } });
  const app = buildServer({ postOffice, logRequests: false, extensions });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const counts = new Map<string, number>();
  let connections = 0;
  let counting = false;
  app.server.on('connection', () => {
    if (counting) connections += 1;
  });
  app.server.on('request', (req: IncomingMessage) => {
    if (!counting) return;
    const key = `${req.method} ${(req.url ?? '').split('?')[0]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  });
  try {
    const sender = await HttpMailbox.connect({
      baseUrl: url,
      apiKey: (await postOffice.register({ agent_id: 'sender' })).api_key,
    });
    const sinkKey = (await postOffice.register({ agent_id: 'sink' })).api_key;
    let handled = 0;
    const waiting: { at: number; resolve: () => void }[] = [];
    const handledAt = (count: number) =>
      handled >= count ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ at: count, resolve }));
    class Sink extends Agent {
      override onMessage(_m: Message) {
        handled += 1;
        for (const w of waiting.filter((x) => x.at <= handled)) w.resolve();
      }
    }
    const runtime = createRuntime({ mailboxFactory: () => HttpMailbox.connect({ baseUrl: url, apiKey: sinkKey }) });
    await runtime.spawn(new Sink(), { id: 'sink', inbox: { limit: 100 } });
    counting = true;
    const t0 = performance.now();
    let sent = 0;
    await Promise.all([
      ...Array.from({ length: concurrency }, async () => {
        while (sent < n) {
          sent += 1;
          const mine = sent;
          await sender.send({ to: ['sink@agents.localhost'], subject: 'bulk' });
          // One at a time: the next send waits for this message's handler.
          if (concurrency === 1) await handledAt(mine);
        }
      }),
      handledAt(n),
    ]);
    // The last mark-reads land after the last handler: wait until nothing is unread.
    while ((await postOffice.account('sink@agents.localhost')).total_received < n)
      await new Promise((r) => setTimeout(r, 10));
    for (;;) {
      const page = await postOffice.inbox('sink@agents.localhost', { unread_only: true, limit: 1 });
      if (page.unread_count === 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const seconds = (performance.now() - t0) / 1000;
    counting = false;
    await runtime.stop();
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    return { total, perMessage: total / n, msgsPerSec: n / seconds, connections, byRoute: Object.fromEntries(counts) };
  } finally {
    await app.close();
    postOffice.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const ROUNDS = Number(process.argv[3] ?? 3);
const load = (await import('node:os')).loadavg().map((l) => l.toFixed(2));
type Run = Awaited<ReturnType<typeof run>>;
const rounds: { before: Run; after: Run }[] = [];
const alone: { before: Run; after: Run }[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const before = await run({ push: false, batchSend: false }, CONCURRENCY, N);
  const after = await run({ push: true, batchSend: true }, CONCURRENCY, N);
  rounds.push({ before, after });
  const one = Math.min(N, 200);
  alone.push({
    before: await run({ push: false, batchSend: false }, 1, one),
    after: await run({ push: true, batchSend: true }, 1, one),
  });
}
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const r = (n: number) => Number(n.toFixed(3));
  return { median: r(s[Math.floor(s.length / 2)] as number), min: r(s[0] as number), max: r(s.at(-1) as number) };
};
process.stdout.write(
  `${JSON.stringify(
    {
      messages: N,
      rounds: ROUNDS,
      loadavgAtStart: load,
      requestsPerMessage: {
        before: stats(rounds.map((x) => x.before.perMessage)),
        after: stats(rounds.map((x) => x.after.perMessage)),
        ratio: stats(rounds.map((x) => x.after.perMessage / x.before.perMessage)),
      },
      connections: {
        before: stats(rounds.map((x) => x.before.connections)),
        after: stats(rounds.map((x) => x.after.connections)),
      },
      throughputRatio: stats(rounds.map((x) => x.after.msgsPerSec / x.before.msgsPerSec)),
      msgsPerSec: {
        before: stats(rounds.map((x) => x.before.msgsPerSec)),
        after: stats(rounds.map((x) => x.after.msgsPerSec)),
      },
      oneAtATime: {
        messages: Math.min(N, 200),
        requestsPerMessage: {
          before: stats(alone.map((x) => x.before.perMessage)),
          after: stats(alone.map((x) => x.after.perMessage)),
          ratio: stats(alone.map((x) => x.after.perMessage / x.before.perMessage)),
        },
        byRoute: { before: alone.at(-1)?.before.byRoute, after: alone.at(-1)?.after.byRoute },
      },
      lastRound: rounds.at(-1),
    },
    null,
    2,
  )}\n`,
);
