import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MailboxError } from '@mailroom/core';
import { HttpMailbox } from '@mailroom/http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from './support/server.js';

// HttpMailbox retries a timed-out request that is safe to repeat, within a total deadline (issue 15).
describe('HttpMailbox timeouts', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  const proxies: Server[] = [];
  beforeAll(async () => {
    server = await startServer();
  });
  afterEach(() => {
    for (const p of proxies.splice(0)) {
      p.closeAllConnections();
      p.close();
    }
  });
  afterAll(() => server.close());

  /**
   * A proxy to the real server that lets `stall(path, n)` decide, per request, to hold it without
   * an answer (after passing it on when `forward` says so: the answer is lost, the work is done).
   */
  async function proxy(stall: (path: string, n: number) => 'answer' | 'hold' | 'forward-then-hold') {
    const held: ServerResponse[] = [];
    const counts = new Map<string, number>();
    const p = createServer(async (req, res) => {
      const path = `${req.method} ${(req.url ?? '').split('?')[0]}`;
      const n = (counts.get(path) ?? 0) + 1;
      counts.set(path, n);
      const what = stall(path, n);
      if (what === 'hold') {
        held.push(res);
        return;
      }
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const upstream = await fetch(`${server.url}${req.url}`, {
        method: req.method ?? 'GET',
        headers: { 'content-type': 'application/json', 'x-api-key': String(req.headers['x-api-key'] ?? '') },
        ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
      });
      const text = await upstream.text();
      if (what === 'forward-then-hold') held.push(res);
      else res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(text);
    });
    proxies.push(p);
    await new Promise<void>((resolve) => p.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(p.address() as AddressInfo).port}`, counts, held };
  }

  it('retries a GET that timed out, and answers from the attempt that got through', async () => {
    const a = await server.register('to-get');
    const p = await proxy((path, n) => (path === 'GET /email/account' && n <= 2 ? 'hold' : 'answer'));
    // Each held attempt costs the per-attempt timeout; one that gets through answers well within it
    // (a second on a busy machine), and a slow one that still timed out would be retried as well.
    const box = await HttpMailbox.connect({ baseUrl: p.url, apiKey: a.api_key, timeoutMs: 1_000, retries: 5 });
    expect(box.address).toBe(a.email_address);
    expect(p.counts.get('GET /email/account')).toBeGreaterThanOrEqual(3);
  });

  it('retries a send whose answer timed out, and the message is delivered once', async () => {
    const a = await server.register('to-send-a');
    const b = await server.register('to-send-b');
    const p = await proxy((path, n) => (path === 'POST /email/send' && n === 1 ? 'forward-then-hold' : 'answer'));
    const box = await HttpMailbox.connect({ baseUrl: p.url, apiKey: a.api_key, timeoutMs: 1_000, retries: 5 });
    await box.send({ to: [b.email_address], subject: 'once, despite the timeout' });
    expect(p.counts.get('POST /email/send')).toBeGreaterThanOrEqual(2);
    const inbox = (await (await server.request('/email/inbox', { key: b.api_key })).json()) as {
      messages: { subject: string }[];
    };
    expect(inbox.messages.filter((m) => m.subject === 'once, despite the timeout')).toHaveLength(1);
  });

  /** A mailbox behind a proxy that answers nothing: 100 ms a try, 50 retries, 2 s in all. */
  const neverAnswered = async (id: string, options: { sendBatching?: number } = {}) => {
    const a = await server.register(id);
    const p = await proxy(() => 'hold');
    const box = new HttpMailbox({
      baseUrl: p.url,
      apiKey: a.api_key,
      address: a.email_address,
      timeoutMs: 100,
      retries: 50,
      // Room for a second attempt however late a loaded machine runs the first one's timeout: ky
      // starts no attempt whose backoff (~300 ms, then ~600) would end past the deadline.
      totalTimeoutMs: 2_000,
      ...options,
    });
    return { a, p, box };
  };

  it('gives up at the total deadline, with MailboxError, however many retries are left', async () => {
    const { p, box } = await neverAnswered('to-total');
    const error = await box.account().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailboxError);
    // It gave up with retries left: without the total deadline the 51 attempts and their backoffs
    // (up to 5 s each) would outlast the test.
    expect(p.counts.get('GET /email/account')).toBeGreaterThanOrEqual(2);
    expect(p.counts.get('GET /email/account')).toBeLessThan(51);
  });

  it('gives up a send at the total deadline too: its first attempt (node:http) times out, then the usual ones', async () => {
    const { a, p, box } = await neverAnswered('to-total-send', { sendBatching: 0 });
    const error = await box.send({ to: [a.email_address], subject: 'never answered' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailboxError);
    // The first attempt, then ky's attempts within what is left of the deadline.
    expect(p.counts.get('POST /email/send')).toBeGreaterThanOrEqual(2);
    expect(p.counts.get('POST /email/send')).toBeLessThan(50);
  });
});
