import type { IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { inboxStream, type Message, NotFoundError } from '@mailroom/core';
import { RunningClock } from '@mailroom/core/testing';
import { HttpMailbox } from '@mailroom/http';
import { buildServer, PostgresPostOffice, pgDatabase } from '@mailroom/server';
import { filter, firstValueFrom, scan } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { landDuringNextRead } from './support/land-during-read.js';
import { freshDatabase, postgresReachable } from './support/postgres.js';
import { startServer } from './support/server.js';

type Server = Awaited<ReturnType<typeof startServer>>;

/** Counts the requests a server receives, by method and path (the query left out). */
function countRequests(server: Server) {
  const counts = new Map<string, number>();
  const streams: { req: IncomingMessage; socket: Socket }[] = [];
  server.app.server.on('request', (req: IncomingMessage) => {
    const key = `${req.method} ${(req.url ?? '').split('?')[0]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (key === 'GET /email/inbox/stream') streams.push({ req, socket: req.socket });
  });
  return {
    of: (key: string) => counts.get(key) ?? 0,
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    reset: () => counts.clear(),
    streams,
  };
}

describe('push delivery and batch send [ext] over HTTP', () => {
  let server: Server;
  let requests: ReturnType<typeof countRequests>;
  beforeAll(async () => {
    // The batch test's hourly quota of 2 must not meet the top of an hour: a clock that starts at one.
    server = await startServer({ office: { clock: new RunningClock() } });
    requests = countRequests(server);
  });
  afterAll(() => server.close());

  const pair = async (name: string) => {
    const a = await server.register(`${name}-a`);
    const b = await server.register(`${name}-b`);
    return {
      a,
      b,
      sender: await HttpMailbox.connect({ baseUrl: server.url, apiKey: a.api_key }),
      receiver: await HttpMailbox.connect({ baseUrl: server.url, apiKey: b.api_key }),
    };
  };

  it('announces push and batch send, and HttpMailbox learns both from its first call', async () => {
    const { receiver } = await pair('announce');
    expect(receiver.push).toBe(true);
    const res = await server.request('/email/account', { key: (await server.register('announce-c')).api_key });
    expect(res.headers.get('x-mailroom-push')).toBe('1');
    expect(res.headers.get('x-mailroom-batch-send')).toBe('1');
  });

  it('delivers every message exactly once while the server drops the stream again and again and sends go on', async () => {
    const { b, sender, receiver } = await pair('drops');
    const ROUNDS = 10;
    const sent: string[] = [];
    const seen: string[] = [];
    const before = requests.streams.length;
    let expected = Number.POSITIVE_INFINITY;
    let check = () => undefined as undefined;
    const all = new Promise<void>((resolve, reject) => {
      const sub = receiver.inboxPush({ limit: 7 }).subscribe({
        next: (page) => {
          for (const m of page.messages) seen.push(m.message_id);
          check();
        },
        error: reject,
      });
      check = () => {
        if (seen.length < expected) return;
        sub.unsubscribe();
        resolve();
      };
    });
    const streamUp = async (n: number) => {
      while (requests.streams.length < n) await new Promise<void>((resolve) => setImmediate(resolve));
    };
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < 3; i++) {
        const group = await Promise.all(
          Array.from({ length: 10 }, (_, j) => sender.send({ to: [b.email_address], subject: `m${round}.${i}.${j}` })),
        );
        sent.push(...group.map((r) => r.message_id));
      }
      // The server side of the stream the client holds now is cut, while mail keeps coming.
      await streamUp(before + round + 1);
      requests.streams.at(-1)?.socket.destroy();
    }
    // A last message: any duplicate of an earlier one would have come before it.
    sent.push((await sender.send({ to: [b.email_address], subject: 'last' })).message_id);
    expected = sent.length;
    check();
    await all;
    const reconnects = requests.streams.slice(before + 1);
    expect(reconnects.length).toBeGreaterThanOrEqual(ROUNDS);
    expect(reconnects.every((s) => typeof s.req.headers['last-event-id'] === 'string')).toBe(true);
    expect(seen).toHaveLength(sent.length);
    expect(new Set(seen).size).toBe(sent.length);
    expect(new Set(seen)).toEqual(new Set(sent));
    expect(seen.at(-1)).toBe(sent.at(-1));
  });

  it('feeds the inbox stream: no inbox polls while the push stream is open, and each message once', async () => {
    const { b, sender, receiver } = await pair('stream');
    const inboxPolls = requests.of('GET /email/inbox');
    const arrived = firstValueFrom(
      inboxStream(receiver).pipe(
        scan((all: Message[], some) => all.concat(some), []),
        filter((all) => all.length >= 20),
      ),
    );
    await Promise.all(Array.from({ length: 20 }, (_, i) => sender.send({ to: [b.email_address], subject: `s${i}` })));
    const got = await arrived;
    expect(got).toHaveLength(20);
    expect(new Set(got.map((m) => m.subject)).size).toBe(20);
    expect(requests.of('GET /email/inbox')).toBe(inboxPolls);
  });

  it('answers each send of a batch on its own: a repeated key gives the first result, one over quota is 429, a bad one 422', async () => {
    const { a, b } = await pair('batch');
    server.postOffice.setLimits(a.email_address, { hourly: 2 });
    const to = [b.email_address];
    const res = await server.request('/email/send/batch', {
      key: a.api_key,
      method: 'POST',
      body: JSON.stringify({
        sends: [
          { to, subject: 'one', idempotency_key: 'k1' },
          { to, subject: 'one again', idempotency_key: 'k1' },
          { to, subject: 'two' },
          { to, subject: 'three: over quota' },
          { to: [], subject: 'no recipient' },
        ],
      }),
    });
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as {
      results: { status: number; body: { message_id?: string; error?: { code: string } }; retry_after?: number }[];
    };
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 429, 422]);
    expect(results[1]?.body.message_id).toBe(results[0]?.body.message_id);
    expect(results[3]?.body.error?.code).toBe('rate_limit_exceeded');
    expect(results[3]?.retry_after).toBeGreaterThan(0);
    const inbox = await server.request('/email/inbox', { key: b.api_key });
    expect(((await inbox.json()) as { messages: { subject: string }[] }).messages.map((m) => m.subject)).toEqual([
      'one',
      'two',
    ]);
  });

  it('sends concurrent sends of HttpMailbox as one batch request', async () => {
    const { b, sender } = await pair('coalesce');
    const [single, batches] = [requests.of('POST /email/send'), requests.of('POST /email/send/batch')];
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => sender.send({ to: [b.email_address], subject: `c${i}` })),
    );
    expect(new Set(results.map((r) => r.message_id)).size).toBe(40);
    expect(requests.of('POST /email/send') - single).toBe(0);
    expect(requests.of('POST /email/send/batch') - batches).toBe(1);
  });

  it('keeps a batch under the body limit: concurrent sends with large bodies all go through', async () => {
    const { b, sender } = await pair('large');
    const body_text = 'x'.repeat(200 * 1024);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => sender.send({ to: [b.email_address], subject: `big${i}`, body_text })),
    );
    expect(new Set(results.map((r) => r.message_id)).size).toBe(8);
  });

  it('measures a batch as it is written: bodies that grow when escaped never make the whole batch too large', async () => {
    const { b, sender } = await pair('escaped');
    // 60 Ki control characters: 60 KiB as text, 360 KiB as JSON (each written as \u0001).
    const body_text = '\u0001'.repeat(60 * 1024);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => sender.send({ to: [b.email_address], subject: `esc${i}`, body_text })),
    );
    expect(new Set(results.map((r) => r.message_id)).size).toBe(8);
  });

  it('keeps its connections alive: sequential calls share one, concurrent sends a few', async () => {
    const { b, sender } = await pair('keepalive');
    await sender.account(); // a connection of its own is open now
    let opened = 0;
    const count = () => {
      opened += 1;
    };
    server.app.server.on('connection', count);
    try {
      for (let i = 0; i < 30; i++) await sender.send({ to: [b.email_address], subject: `k${i}` });
      expect(opened).toBeLessThanOrEqual(1);
      await Promise.all(
        Array.from({ length: 200 }, (_, i) => sender.send({ to: [b.email_address], subject: `c${i}` })),
      );
      // At most `sendBatching` (8) send requests are on their way at once.
      expect(opened).toBeLessThanOrEqual(9);
    } finally {
      server.app.server.off('connection', count);
    }
  });

  it('checks the key before streaming, and a bad cursor is a plain 422', async () => {
    const none = await fetch(`${server.url}/email/inbox/stream`);
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toContain('application/json');
    const { b } = await pair('auth');
    const bad = await server.request('/email/inbox/stream?cursor=garbage', { key: b.api_key });
    expect(bad.status).toBe(422);
    const forged = await server.request('/email/inbox/stream', {
      key: b.api_key,
      headers: { 'last-event-id': 'forged' },
    });
    expect(forged.status).toBe(422);
  });
});

describe('push delivery [ext]: the first page', () => {
  // The stream reads its first page before it starts (a bad cursor is a plain 422); mail that lands
  // meanwhile wakes nobody who listens yet. Here it lands right after that read, and the heartbeat
  // (its next re-read) is an hour away: only the wake-up that came during the read can bring it.
  it('pushes at once the mail that lands while the first page is read', async () => {
    const server = await startServer({ streamHeartbeatMs: 3_600_000 });
    let restore = () => {};
    try {
      const a = await server.register('first-a');
      const b = await server.register('first-b');
      restore = landDuringNextRead(server.postOffice, () =>
        server.request('/email/send', {
          method: 'POST',
          key: a.api_key,
          body: JSON.stringify({ to: [b.email_address], subject: 'raced' }),
        }),
      );
      const res = await server.request('/email/inbox/stream?unread_only=true', { key: b.api_key });
      const reader = (res.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      while (!text.includes('event: inbox')) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`the stream ended: ${text}`);
        text += value;
      }
      await reader.cancel();
      expect(text).toContain('"subject":"raced"');
    } finally {
      restore();
      await server.close();
    }
  }, 20_000);

  // A client that leaves while the first page is read closes the response before the stream
  // listens for its close: the stream must still end (it re-read every heartbeat until shutdown).
  it('ends the stream of a client that left while its first page was read', async () => {
    const server = await startServer({ streamHeartbeatMs: 50 });
    const office = server.postOffice;
    const read = office.inbox.bind(office);
    const sockets: Socket[] = [];
    server.app.server.on('connection', (socket: Socket) => sockets.push(socket));
    let reading!: () => void;
    const firstRead = new Promise<void>((r) => (reading = r));
    let letGo!: () => void;
    const gone = new Promise<void>((r) => (letGo = r));
    try {
      const a = await server.register('leaver');
      office.inbox = async (address, query) => {
        office.inbox = read;
        reading();
        await gone; // the client has left and the server has seen its socket close
        return read(address, query);
      };
      const client = new AbortController();
      const asked = server
        .request('/email/inbox/stream', { key: a.api_key, signal: client.signal })
        .catch(() => 'left');
      await firstRead;
      // The stream's connection is the one that closes (the others are kept alive).
      const closed = Promise.race(sockets.map((s) => new Promise((r) => (s.destroyed ? r(null) : s.once('close', r)))));
      client.abort();
      await asked;
      await closed;
      letGo();
      while (!server.logLines.some((l) => l.includes('inbox stream closed'))) {
        await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      office.inbox = read;
      await server.close();
    }
  }, 20_000);
});

describe('push delivery [ext]: the stream ends, the fallbacks', () => {
  it('ends an open stream when the server closes (close does not wait for it)', async () => {
    const server = await startServer();
    const b = await server.register('close-b');
    const res = await server.request('/email/inbox/stream', { key: b.api_key });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // the stream's opening comment
    const closed = server.close();
    for (;;) if ((await reader.read()).done) break;
    await closed;
  });

  it('keeps an idle stream open past the request timeout, with a keep-alive comment at each heartbeat', async () => {
    const server = await startServer({ requestTimeoutMs: 100, streamHeartbeatMs: 50 });
    try {
      const b = await server.register('idle-b');
      const res = await server.request('/email/inbox/stream', { key: b.api_key });
      const reader = (res.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      while ((text.match(/: keep-alive/g) ?? []).length < 6) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`the stream ended: ${text}`);
        text += value;
      }
      await reader.cancel();
      expect(text.startsWith('retry: 1000\n')).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('long-polls against a server without push (and sends one by one without batch send)', async () => {
    const server = await startServer({ extensions: { push: false, batchSend: false } });
    try {
      const requests = countRequests(server);
      const a = await server.register('nopush-a');
      const b = await server.register('nopush-b');
      const receiver = await HttpMailbox.connect({ baseUrl: server.url, apiKey: b.api_key });
      const sender = await HttpMailbox.connect({ baseUrl: server.url, apiKey: a.api_key });
      expect(receiver.push).toBe(false);
      const arrived = firstValueFrom(
        inboxStream(receiver, { longPollSeconds: 10 }).pipe(
          scan((all: Message[], some) => all.concat(some), []),
          filter((all) => all.length >= 3),
        ),
      );
      await Promise.all(['x', 'y', 'z'].map((subject) => sender.send({ to: [b.email_address], subject })));
      expect((await arrived).map((m) => m.subject).sort()).toEqual(['x', 'y', 'z']);
      expect(receiver.longPoll).toBe(true);
      expect(requests.of('GET /email/inbox/stream')).toBe(0);
      expect(requests.of('POST /email/send/batch')).toBe(0);
      expect(requests.of('POST /email/send')).toBe(3);
    } finally {
      await server.close();
    }
  });

  it('falls back to polling when a server announces push but has no stream route', async () => {
    const server = await startServer();
    try {
      const a = await server.register('gone-a');
      const b = await server.register('gone-b');
      // A proxy-like fetch that answers the stream route with 404, as a server without it would.
      const fetchWithoutStream: typeof fetch = (input, init) =>
        String(input instanceof Request ? input.url : input).includes('/email/inbox/stream')
          ? Promise.resolve(new Response(JSON.stringify({ detail: 'no route' }), { status: 404 }))
          : fetch(input, init);
      const receiver = await HttpMailbox.connect({ baseUrl: server.url, apiKey: b.api_key, fetch: fetchWithoutStream });
      const sender = await HttpMailbox.connect({ baseUrl: server.url, apiKey: a.api_key });
      expect(receiver.push).toBe(true);
      const error = await firstValueFrom(receiver.inboxPush()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotFoundError);
      const arrived = firstValueFrom(inboxStream(receiver, { longPollSeconds: 10 }));
      await sender.send({ to: [b.email_address], subject: 'polled' });
      expect((await arrived).map((m) => m.subject)).toEqual(['polled']);
    } finally {
      await server.close();
    }
  });
});

const pg = await postgresReachable();

describe.skipIf(!pg)('push delivery [ext] across replicas on PostgreSQL', () => {
  it('pushes to a stream held by one replica the mail sent through another', async () => {
    const fresh = await freshDatabase();
    const offices = await Promise.all(
      [0, 1].map(() =>
        PostgresPostOffice.open({ database: pgDatabase({ connectionString: fresh.url, max: 4 }), ownsDatabase: true }),
      ),
    );
    const apps = offices.map((postOffice) => buildServer({ postOffice, logRequests: false }));
    try {
      const urls: string[] = [];
      for (const app of apps) {
        await app.listen({ host: '127.0.0.1', port: 0 });
        urls.push(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);
      }
      const [one, two] = offices as [PostgresPostOffice, PostgresPostOffice];
      const alice = await one.register({ agent_id: 'alice' });
      const bob = await two.register({ agent_id: 'bob' });
      const bobOnOne = await HttpMailbox.connect({ baseUrl: urls[0] as string, apiKey: bob.api_key });
      const aliceOnTwo = await HttpMailbox.connect({ baseUrl: urls[1] as string, apiKey: alice.api_key });
      const first = firstValueFrom(bobOnOne.inboxPush());
      const pages = firstValueFrom(
        bobOnOne.inboxPush().pipe(
          scan((all: Message[], page) => all.concat(page.messages), []),
          filter((all) => all.length >= 5),
        ),
      );
      await aliceOnTwo.send({ to: [bob.email_address], subject: 'r0' });
      expect((await first).messages.map((m) => m.subject)).toEqual(['r0']);
      for (let i = 1; i < 5; i++) await aliceOnTwo.send({ to: [bob.email_address], subject: `r${i}` });
      expect((await pages).map((m) => m.subject)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    } finally {
      for (const app of apps) await app.close();
      for (const office of offices) await office.close();
      await fresh.drop();
    }
  });
});
