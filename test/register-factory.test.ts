import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ConflictError, MailboxError } from '@mailroom/core';
import { HttpMailbox, registeringMailboxFactory } from '@mailroom/http';
import { buildServer, SqlitePostOffice } from '@mailroom/server';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from './support/server.js';

/** A free port on loopback: listened on, then let go, so that a server can take it later. */
async function reservePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const address = s.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A pino logger whose lines land in `lines`. */
function capture(lines: string[]) {
  return pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    }),
  );
}

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

describe('registeringMailboxFactory and a server that is not there yet', () => {
  it('waits for a server that starts after the worker, then registers', async () => {
    const port = await reservePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    let failed!: () => void;
    const firstFailure = new Promise<void>((r) => {
      failed = r;
    });
    const lines: string[] = [];
    const factory = registeringMailboxFactory({
      baseUrl,
      logger: capture(lines),
      fetch: (input, init) =>
        fetch(input, init).catch((err: unknown) => {
          failed();
          throw err;
        }),
    });
    const opening = factory('early-bird');
    await firstFailure; // the worker tried and found nothing: now the server comes up
    const dir = mkdtempSync(join(tmpdir(), 'mailroom-late-'));
    const postOffice = new SqlitePostOffice({ path: join(dir, 'mail.db') });
    const app = buildServer({ postOffice, logger: pino({ level: 'silent' }) });
    closers.push(async () => {
      await app.close();
      postOffice.close();
    });
    await app.listen({ host: '127.0.0.1', port });
    const mailbox = await opening;
    expect(mailbox.address).toBe('early-bird@agents.localhost');
    expect(lines.join('')).toContain('server not reachable yet; retrying');
  });

  it('gives up after waitForServerMs with a MailboxError naming the URL, not a raw TypeError', async () => {
    const baseUrl = `http://127.0.0.1:${await reservePort()}`;
    const error = await registeringMailboxFactory({ baseUrl, waitForServerMs: 300 })('nobody').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailboxError);
    expect((error as Error).message).toContain(`network error: POST ${baseUrl}/agents/register`);
    expect((error as Error).message).toContain('waitForServerMs');
    const once = await registeringMailboxFactory({ baseUrl, waitForServerMs: 0 })('nobody').catch((e: unknown) => e);
    expect(once).toBeInstanceOf(MailboxError);
    expect((once as Error).message).toContain(`network error: POST ${baseUrl}/agents/register`);
  });
});

describe('registeringMailboxFactory across restarts', () => {
  it('does not send a registration again when its answer was lost: it may have been made (a repeat would be a 409)', async () => {
    let posts = 0;
    const lossy = createHttpServer((req, res) => {
      posts += 1;
      req.resume();
      req.on('end', () => res.destroy()); // the request arrived; its answer never leaves
    });
    await new Promise<void>((r) => lossy.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => lossy.close(r)));
    const { port } = lossy.address() as { port: number };
    const open = registeringMailboxFactory({ baseUrl: `http://127.0.0.1:${port}`, waitForServerMs: 5_000 });
    const error = await open('lost-answer').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailboxError);
    expect((error as Error).message).toMatch(/answer to POST .*\/agents\/register was lost .*rotate-key lost-answer/);
    expect(posts).toBe(1);
  });

  it('without keyDir, a second run is a ConflictError that says how to avoid and how to recover', async () => {
    const server = await startServer();
    closers.push(() => server.app.close());
    await registeringMailboxFactory({ baseUrl: server.url })('twice');
    const error = await registeringMailboxFactory({ baseUrl: server.url })('twice').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    const message = (error as Error).message;
    expect(message).toContain('pass keyDir');
    expect(message).toContain("mailroom-server rotate-key twice --db <the server's --db>");
  });

  it('with a kept key the server has never heard of (a new database), registers anew and says so in the log', async () => {
    const keyDir = mkdtempSync(join(tmpdir(), 'mailroom-keys-'));
    const keyFile = join(keyDir, 'phoenix.key');
    const first = await startServer();
    closers.push(() => first.app.close());
    await registeringMailboxFactory({ baseUrl: first.url, keyDir })('phoenix');
    const oldKey = readFileSync(keyFile, 'utf8').trim();

    // The same worker against a server on a fresh database (a `:memory:` server restarted).
    const second = await startServer();
    closers.push(() => second.app.close());
    const lines: string[] = [];
    const mailbox = await registeringMailboxFactory({ baseUrl: second.url, keyDir, logger: capture(lines) })('phoenix');
    expect(mailbox.address).toBe('phoenix@agents.localhost');
    const newKey = readFileSync(keyFile, 'utf8').trim();
    expect(newKey).not.toBe(oldKey);
    await HttpMailbox.connect({ baseUrl: second.url, apiKey: newKey });
    expect(lines.join('')).toContain('registered anew');
    expect(lines.join('')).not.toContain(oldKey);

    // A key the server knows the account of, but refuses (rotated): not replaced, an AuthError.
    writeFileSync(keyFile, `${oldKey}\n`);
    const error = await registeringMailboxFactory({ baseUrl: second.url, keyDir })('phoenix').catch((e: unknown) => e);
    expect((error as Error).message).toContain('is not accepted by');
    expect(readFileSync(keyFile, 'utf8').trim()).toBe(oldKey);
  });
});
