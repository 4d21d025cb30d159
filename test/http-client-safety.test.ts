import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { MailboxError, type Message } from '@mailroom/core';
import { HttpMailbox, registeringMailboxFactory } from '@mailroom/http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy } from './support/proxy.js';
import { startServer } from './support/server.js';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

describe('HttpMailbox: what it sends where, and what it repeats', () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(() => s.close());

  /** A message from a new sender to a new recipient; the recipient's registration. */
  async function mailFor(name: string) {
    const from = await s.register(`${name}-from`);
    const to = await s.register(`${name}-to`);
    const res = await s.request('/email/send', {
      method: 'POST',
      key: from.api_key,
      body: JSON.stringify({ to: [to.email_address], subject: name }),
    });
    return { to, messageId: ((await res.json()) as { message_id: string }).message_id };
  }

  it('never sends the API key or a body to another origin when the server redirects', async () => {
    const reached: { method: string | undefined; key: unknown; body: string }[] = [];
    const elsewhere = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        reached.push({ method: req.method, key: req.headers['x-api-key'], body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    const elsewhereUrl = await listen(elsewhere);
    const redirector = createServer((req, res) => {
      req.resume();
      res.writeHead(307, { location: `${elsewhereUrl}${req.url}` }).end();
    });
    const redirectorUrl = await listen(redirector);
    try {
      const box = new HttpMailbox({
        baseUrl: redirectorUrl,
        apiKey: 'mr_the-secret-key',
        address: 'me@agents.localhost',
        retries: 0,
      });
      await expect(box.account()).rejects.toBeInstanceOf(MailboxError);
      await expect(
        box.send({ to: ['you@agents.localhost'], subject: 'private', body_text: 'private body' }),
      ).rejects.toBeInstanceOf(MailboxError);
      const register = registeringMailboxFactory({ baseUrl: redirectorUrl, adminKey: 'the-admin-key', retries: 0 });
      await expect(register('some-agent')).rejects.toBeInstanceOf(MailboxError);
      expect(reached).toEqual([]);
    } finally {
      await close(redirector);
      await close(elsewhere);
    }
  });

  it('stars once when the answer is lost: a toggle is never retried', async () => {
    const { to, messageId } = await mailFor('star');
    const proxy = await startProxy(s.url, (req, seen) =>
      req.url?.endsWith('/star') && seen === 0 ? 'lose-answer' : 'pass',
    );
    try {
      const box = new HttpMailbox({ baseUrl: proxy.url, apiKey: to.api_key, address: to.email_address, retries: 3 });
      await expect(box.star(messageId)).rejects.toBeInstanceOf(MailboxError);
      const message = (await (await s.request(`/email/message/${messageId}`, { key: to.api_key })).json()) as Message;
      expect(message.starred).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('retries a delete whose answer was lost, and counts the message already gone as deleted', async () => {
    const { to, messageId } = await mailFor('delete');
    const proxy = await startProxy(s.url, (req, seen) =>
      req.method === 'DELETE' && seen === 0 ? 'lose-answer' : 'pass',
    );
    try {
      const box = new HttpMailbox({ baseUrl: proxy.url, apiKey: to.api_key, address: to.email_address, retries: 3 });
      await expect(box.delete(messageId)).resolves.toBeUndefined();
      expect((await s.request(`/email/message/${messageId}`, { key: to.api_key })).status).toBe(404);
    } finally {
      await proxy.close();
    }
  });

  it('logs a retried send by method, path, status and size: never its body, subject or key', async () => {
    const from = await s.register('log-from');
    const to = await s.register('log-to');
    const lines: string[] = [];
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      }),
    );
    // The first two requests of a kind are answered 503 by the proxy: the send's fast first
    // attempt (node:http) gets one, goes the usual way (ky), gets the other and is retried once.
    const proxy = await startProxy(s.url, (_req, seen) => (seen < 2 ? '503' : 'pass'));
    try {
      const box = new HttpMailbox({ baseUrl: proxy.url, apiKey: from.api_key, address: from.email_address, logger });
      const body = 'the-private-body '.repeat(10);
      await box.send({ to: [to.email_address], subject: 'the-private-subject', body_text: body });
      const all = lines.join('\n');
      expect(all).not.toContain('the-private-body');
      expect(all).not.toContain('the-private-subject');
      expect(all).not.toContain(from.api_key);
      const retry = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.msg === 'retrying request');
      expect(retry).toMatchObject({ method: 'POST', path: '/email/send', status: 503, retryCount: 1 });
      expect(retry?.bodyBytes).toBeGreaterThan(body.length);
    } finally {
      await proxy.close();
    }
  });
});
