// Requests per message over HttpMailbox ↔ mailroom-server, counted on the server: N messages sent
// with 64 in flight to an agent (a runtime on HttpMailbox) that handles and marks each read; once
// with push and batch send offered, once with them turned off (long poll, batch read, one send a
// request: the client of before). Also counts the TCP connections the clients opened (keep-alive).
// Run: pnpm build && node bench/dist/requests-per-message.js [N]

import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, createRuntime, type Message } from '@mailroom/core';
import { HttpMailbox } from '@mailroom/http';
import { buildServer, SqlitePostOffice } from '@mailroom/server';

const N = Number(process.argv[2] ?? 2000);
const CONCURRENCY = 64;

async function run(extensions: { push: boolean; batchSend: boolean }) {
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
    let done: () => void = () => undefined;
    const all = new Promise<void>((resolve) => {
      done = resolve;
    });
    class Sink extends Agent {
      override onMessage(_m: Message) {
        handled += 1;
        if (handled === N) done();
      }
    }
    const runtime = createRuntime({ mailboxFactory: () => HttpMailbox.connect({ baseUrl: url, apiKey: sinkKey }) });
    await runtime.spawn(new Sink(), { id: 'sink', inbox: { limit: 100 } });
    counting = true;
    const t0 = performance.now();
    let sent = 0;
    await Promise.all([
      ...Array.from({ length: CONCURRENCY }, async () => {
        while (sent < N) {
          sent += 1;
          await sender.send({ to: ['sink@agents.localhost'], subject: 'bulk' });
        }
      }),
      all,
    ]);
    // The last mark-reads land after the last handler: wait until nothing is unread.
    while ((await postOffice.account('sink@agents.localhost')).total_received < N)
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
    return { total, perMessage: total / N, msgsPerSec: N / seconds, connections, byRoute: Object.fromEntries(counts) };
  } finally {
    await app.close();
    postOffice.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const load = (await import('node:os')).loadavg().map((l) => l.toFixed(2));
const before = await run({ push: false, batchSend: false });
const after = await run({ push: true, batchSend: true });
process.stdout.write(
  `${JSON.stringify(
    {
      messages: N,
      loadavg: load,
      before,
      after,
      requestsPerMessageRatio: Number((after.perMessage / before.perMessage).toFixed(3)),
    },
    null,
    2,
  )}\n`,
);
