import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { AuthError, inboxStream, MailboxError, RateLimitedError } from '@mailroom/core';
import { mailboxConformance } from '@mailroom/core/testing';
import { HttpMailbox } from '@mailroom/http';
import { pino } from 'pino';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from './support/server.js';

mailboxConformance('HttpMailbox against mailroom-server on port 0', async ({ clock }) => {
  const server = await startServer({ adminKey: 'admin-secret', office: { clock } });
  return {
    async agent(agentId, options = {}) {
      const reg = await server.register(agentId);
      if (options.hourly !== undefined) server.postOffice.setLimits(reg.email_address, { hourly: options.hourly });
      // The office's clock stays at the start of an hour: a limited account's 429 says to wait most
      // of an hour, longer than HttpMailbox waits out, so the caller sees it (whatever the wall clock).
      return HttpMailbox.connect({ baseUrl: server.url, apiKey: reg.api_key });
    },
    close: () => server.close(),
  };
});

describe('HttpMailbox', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  it('adds an idempotency key to every send, so a retried send is delivered once', async () => {
    const a = await server.register('idem-a');
    const b = await server.register('idem-b');
    const box = await HttpMailbox.connect({ baseUrl: server.url, apiKey: a.api_key });
    const first = await box.send({ to: [b.email_address], subject: 'once', idempotency_key: 'k-1' });
    const again = await box.send({ to: [b.email_address], subject: 'once', idempotency_key: 'k-1' });
    expect(again.message_id).toBe(first.message_id);
    await box.send({ to: [b.email_address], subject: 'auto key' });
    const sent = await server.request('/email/sent', { key: a.api_key });
    expect(((await sent.json()) as { messages: unknown[] }).messages).toHaveLength(2);
  });

  it('throws AuthError for a bad key', async () => {
    await expect(HttpMailbox.connect({ baseUrl: server.url, apiKey: 'wrong' })).rejects.toBeInstanceOf(AuthError);
  });

  it('throws RateLimitedError at once when Retry-After is longer than it will wait', async () => {
    const a = await server.register('quota-a');
    const b = await server.register('quota-b');
    server.postOffice.setLimits(a.email_address, { hourly: 0 });
    const box = await HttpMailbox.connect({ baseUrl: server.url, apiKey: a.api_key, maxRetryAfterMs: 1000 });
    const error = (await box
      .send({ to: [b.email_address], subject: 'x' })
      .catch((e: unknown) => e)) as RateLimitedError;
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.retryAfterMs).toBeGreaterThan(1000);
    expect(error.details).toMatchObject({ limit_type: 'hourly', hourly_limit: 0 });
  });

  it("says in its log how long a 429 holds a request back for the server's quota, then gets the answer", async () => {
    const a = await server.register('quota-wait');
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _enc, cb) {
          lines.push(JSON.parse(String(chunk)));
          cb();
        },
      }),
    );
    let inboxCalls = 0;
    // A proxy that answers the first inbox read 429 (Retry-After: 0), then passes everything on.
    const proxy = createServer(async (req, res) => {
      if (req.url?.startsWith('/email/inbox') && ++inboxCalls === 1) {
        res
          .writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' })
          .end('{"detail":"Rate limit exceeded"}');
        return;
      }
      const upstream = await fetch(`${server.url}${req.url}`, {
        headers: { 'x-api-key': String(req.headers['x-api-key'] ?? '') },
      });
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const box = new HttpMailbox({
        baseUrl: url,
        apiKey: a.api_key,
        address: a.email_address,
        logger,
        longPoll: false,
      });
      await expect(box.inbox({ unread_only: true })).resolves.toMatchObject({ messages: [] });
      expect(inboxCalls).toBe(2);
      expect(lines).toEqual([
        expect.objectContaining({
          status: 429,
          waitMs: 0,
          msg: "rate limited: GET /email/inbox waits 0 s (Retry-After) for the server's quota",
        }),
      ]);
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('uses the long poll of a server that offers it: an idle inbox$ waits on the server and wakes on mail', async () => {
    const a = await server.register('lp-a');
    const b = await server.register('lp-b');
    const box = await HttpMailbox.connect({ baseUrl: server.url, apiKey: b.api_key });
    const sender = await HttpMailbox.connect({ baseUrl: server.url, apiKey: a.api_key });
    await box.inbox({ unread_only: true });
    expect(box.longPoll).toBe(true);
    // Held for 29 s, longer than the test may run: only the wake-up can bring the mail in time.
    const arrived = firstValueFrom(inboxStream(box, { longPollSeconds: 29, push: false }));
    // The stream's first poll finds nothing and goes on to a long poll: wait until the server has it.
    while (!server.logLines.some((l) => l.includes('wait=29')))
      await new Promise<void>((resolve) => setImmediate(resolve));
    await sender.send({ to: [b.email_address], subject: 'wake up' });
    const page = await arrived;
    expect(page.map((m) => m.subject)).toEqual(['wake up']);
  }, 25_000);

  it('gives up a long poll the server holds when the inbox stream closes (stop need not wait for it)', async () => {
    const b = await server.register('lp-stop');
    const box = await HttpMailbox.connect({ baseUrl: server.url, apiKey: b.api_key });
    await box.inbox({ unread_only: true });
    const sub = inboxStream(box, { longPollSeconds: 30, push: false }).subscribe();
    const held = () => server.logLines.find((l) => l.includes('wait=30'));
    while (!held()) await new Promise<void>((resolve) => setImmediate(resolve));
    const reqId = (JSON.parse(held() as string) as { reqId: string }).reqId;
    sub.unsubscribe();
    // The server lets the request go once the client is gone, long before its 30 s: without the
    // abort this waits out the test's own timeout and fails.
    const completed = () =>
      server.logLines.some((l) => l.includes('long poll given up by the client') && l.includes(`"reqId":"${reqId}"`));
    while (!completed()) await new Promise<void>((resolve) => setImmediate(resolve));
    expect(completed()).toBe(true);
  });

  it('falls back to plain polling and one-by-one mark-read against a server without the extensions', async () => {
    const plain = await startServer({ extensions: { longPoll: false, batchRead: false } });
    try {
      const a = await plain.register('plain-a');
      const b = await plain.register('plain-b');
      const box = await HttpMailbox.connect({ baseUrl: plain.url, apiKey: b.api_key });
      const sender = await HttpMailbox.connect({ baseUrl: plain.url, apiKey: a.api_key });
      const sent = await sender.send({ to: [b.email_address], subject: 'plain' });
      await box.inbox({ unread_only: true });
      expect(box.longPoll).toBe(false);
      expect(await box.markRead([sent.message_id])).toBe(1);
      expect((await box.inbox({ unread_only: true })).messages).toHaveLength(0);
    } finally {
      await plain.close();
    }
  });

  it('retries a send whose answer was lost, and the message is delivered once', async () => {
    const a = await server.register('retry-a');
    const b = await server.register('retry-b');
    let sends = 0;
    // A proxy that passes every request on, but loses the answer to the first send (503).
    const proxy = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const upstream = await fetch(`${server.url}${req.url}`, {
        method: req.method ?? 'GET',
        headers: { 'content-type': 'application/json', 'x-api-key': String(req.headers['x-api-key'] ?? '') },
        ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
      });
      const text = await upstream.text();
      if (req.url === '/email/send' && ++sends === 1) {
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' }).end('{"detail":"lost"}');
        return;
      }
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(text);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const box = await HttpMailbox.connect({ baseUrl: url, apiKey: a.api_key });
      await box.send({ to: [b.email_address], subject: 'exactly once' });
      expect(sends).toBe(2);
      const inbox = (await (await server.request('/email/inbox', { key: b.api_key })).json()) as {
        messages: { subject: string }[];
      };
      expect(inbox.messages.filter((m) => m.subject === 'exactly once')).toHaveLength(1);
    } finally {
      proxy.close();
    }
  });

  it('rejects an answer that does not match the model with MailboxError', async () => {
    const odd = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"email_address": 42}'),
    );
    await new Promise<void>((resolve) => odd.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(odd.address() as AddressInfo).port}`;
      const box = new HttpMailbox({ baseUrl: url, apiKey: 'k', address: 'x@agents.localhost' });
      await expect(box.account()).rejects.toThrow(/invalid response from the server/);
    } finally {
      odd.close();
    }
  });

  it('retries a GET through 503s with backoff, and reports a server that keeps failing', async () => {
    let calls = 0;
    const flaky = createServer((_req, res) => {
      calls += 1;
      if (calls <= 2) {
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' }).end('{"detail":"busy"}');
        return;
      }
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"detail":"broken"}');
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}`;
      const box = new HttpMailbox({ baseUrl: url, apiKey: 'k', address: 'x@agents.localhost', retries: 3 });
      const error = (await box.account().catch((e: unknown) => e)) as MailboxError;
      expect(error).toBeInstanceOf(MailboxError);
      expect(error.status).toBe(500);
      expect(calls).toBe(4);
    } finally {
      flaky.close();
    }
  });
});
