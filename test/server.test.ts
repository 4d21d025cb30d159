import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunningClock } from '@mailroom/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { landDuringNextRead } from './support/land-during-read.js';
import { startServer } from './support/server.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('mailroom server', () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  let alice: { api_key: string; email_address: string };
  let bob: { api_key: string; email_address: string };
  beforeAll(async () => {
    // Its clock stays inside one hour: the quota test's two sends never straddle two windows.
    s = await startServer({ adminKey: 'admin-secret', office: { clock: new RunningClock() } });
    alice = await s.register('alice');
    bob = await s.register('bob');
  });
  afterAll(() => s.close());

  const endpoints: [string, string][] = [
    ['POST', '/email/send'],
    ['GET', '/email/inbox'],
    ['GET', '/email/sent'],
    ['GET', '/email/message/msg_x'],
    ['POST', '/email/message/msg_x/read'],
    ['POST', '/email/read'],
    ['POST', '/email/message/msg_x/star'],
    ['DELETE', '/email/message/msg_x'],
    ['GET', '/email/thread/thr_x'],
    ['GET', '/email/account'],
    ['GET', '/ui/thread/thr_x'],
  ];
  for (const [method, path] of endpoints) {
    it(`answers 401 to ${method} ${path} without a key or with an unknown one`, async () => {
      for (const key of [undefined, 'not-a-key']) {
        const res = await fetch(`${s.url}${path}`, { method, headers: key ? { 'x-api-key': key } : {} });
        expect(res.status).toBe(401);
      }
    });
  }

  it('needs the admin key to register when started with one', async () => {
    const res = await fetch(`${s.url}/agents/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agent_id: 'intruder' }),
    });
    expect(res.status).toBe(401);
    const wrong = await fetch(`${s.url}/agents/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-admin-key': 'nope' },
      body: JSON.stringify({ agent_id: 'intruder' }),
    });
    expect(wrong.status).toBe(401);
  });

  it('sends as the key’s owner whatever from_address says', async () => {
    const res = await s.request('/email/send', {
      method: 'POST',
      key: alice.api_key,
      body: JSON.stringify({ to: [bob.email_address], subject: 'spoof?', from_address: bob.email_address }),
    });
    expect(res.status).toBe(200);
    const inbox = (await (await s.request('/email/inbox', { key: bob.api_key })).json()) as {
      messages: { from_address: string; subject: string }[];
    };
    expect(inbox.messages.find((m) => m.subject === 'spoof?')?.from_address).toBe(alice.email_address);
  });

  it('answers 422 with the documented detail shape, 400 to a body that is not JSON, 413 over the limit', async () => {
    const bad = await s.request('/email/send', {
      method: 'POST',
      key: alice.api_key,
      body: JSON.stringify({ to: [], subject: '' }),
    });
    expect(bad.status).toBe(422);
    const body = (await bad.json()) as { detail: { loc: unknown[]; msg: string; type: string }[] };
    expect(body.detail.map((d) => d.loc[0])).toEqual(expect.arrayContaining(['to', 'subject']));
    expect(typeof body.detail[0]?.msg).toBe('string');
    const notJson = await s.request('/email/send', {
      method: 'POST',
      key: alice.api_key,
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(notJson.status).toBe(400);
    const broken = await s.request('/email/send', { method: 'POST', key: alice.api_key, body: '{"to": [' });
    expect(broken.status).toBe(400);
    const big = await s.request('/email/send', {
      method: 'POST',
      key: alice.api_key,
      body: JSON.stringify({ to: [bob.email_address], subject: 'big', body_text: 'x'.repeat(300 * 1024) }),
    });
    expect(big.status).toBe(413);
    const huge = await s.request('/email/send', {
      method: 'POST',
      key: alice.api_key,
      body: JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(huge.status).toBe(413);
  });

  it('answers 429 with Retry-After and the documented body', async () => {
    const limited = await s.register('limited');
    s.postOffice.setLimits(limited.email_address, { hourly: 1 });
    const send = () =>
      s.request('/email/send', {
        method: 'POST',
        key: limited.api_key,
        body: JSON.stringify({ to: [bob.email_address], subject: 'q' }),
      });
    expect((await send()).status).toBe(200);
    const res = await send();
    expect(res.status).toBe(429);
    const seconds = Number(res.headers.get('retry-after'));
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(3600);
    expect(await res.json()).toMatchObject({
      error: {
        code: 'rate_limit_exceeded',
        retry_after: seconds,
        details: { limit_type: 'hourly', hourly_used: 1, hourly_limit: 1, daily_limit: 100000 },
      },
    });
  });

  it('answers 404, never 403, to a thread or message that is not the caller’s', async () => {
    const carol = await s.register('carol');
    const sent = (await (
      await s.request('/email/send', {
        method: 'POST',
        key: alice.api_key,
        body: JSON.stringify({ to: [bob.email_address], subject: 'private' }),
      })
    ).json()) as { message_id: string; thread_id: string };
    expect((await s.request(`/email/thread/${sent.thread_id}`, { key: carol.api_key })).status).toBe(404);
    expect((await s.request(`/email/message/${sent.message_id}`, { key: carol.api_key })).status).toBe(404);
    expect((await s.request('/email/thread/thr_never_existed', { key: carol.api_key })).status).toBe(404);
    expect((await s.request('/no/such/route', { key: carol.api_key })).status).toBe(404);
  });

  it('holds a long poll until mail arrives, and answers an empty page when the wait ends', async () => {
    const dave = await s.register('dave');
    const empty = await s.request('/email/inbox?unread_only=true&wait=0.2', { key: dave.api_key });
    expect(((await empty.json()) as { messages: unknown[] }).messages).toEqual([]);
    // Held for 30 s, longer than the test may run: only the mail can end it in time.
    const held = s.request('/email/inbox?unread_only=true&wait=30', { key: dave.api_key });
    while (!s.logLines.some((l) => l.includes('wait=30'))) await new Promise<void>((r) => setImmediate(r));
    await s.request('/email/send', {
      method: 'POST',
      key: alice.api_key,
      body: JSON.stringify({ to: [dave.email_address], subject: 'ping' }),
    });
    const page = (await (await held).json()) as { messages: { subject: string }[] };
    expect(page.messages.map((m) => m.subject)).toEqual(['ping']);
  }, 25_000);

  // On PostgreSQL a replica's first read can miss mail that another replica commits meanwhile, and
  // the wake-up for it can come before the poll is held. Here the mail lands right after the read.
  it('answers a long poll at once when the mail lands while its first read is under way', async () => {
    const fay = await s.register('fay');
    const restore = landDuringNextRead(s.postOffice, () =>
      s.request('/email/send', {
        method: 'POST',
        key: alice.api_key,
        body: JSON.stringify({ to: [fay.email_address], subject: 'raced' }),
      }),
    );
    try {
      // Held for 30 s: only the wake-up that came during the read can end it in time.
      const res = await s.request('/email/inbox?unread_only=true&wait=30', { key: fay.api_key });
      const page = (await res.json()) as { messages: { subject: string }[] };
      expect(page.messages.map((m) => m.subject)).toEqual(['raced']);
    } finally {
      restore();
    }
  }, 20_000);

  it('marks a batch read with POST /email/read', async () => {
    const erin = await s.register('erin');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await s.request('/email/send', {
        method: 'POST',
        key: alice.api_key,
        body: JSON.stringify({ to: [erin.email_address], subject: `b${i}` }),
      });
      ids.push(((await r.json()) as { message_id: string }).message_id);
    }
    const res = await s.request('/email/read', {
      method: 'POST',
      key: erin.api_key,
      body: JSON.stringify({ message_ids: ids }),
    });
    expect(await res.json()).toEqual({ marked: 3 });
  });

  it('serves /health and an OpenAPI 3.1 document generated from the model', async () => {
    expect(await (await fetch(`${s.url}/health`)).json()).toEqual({ status: 'ok' });
    const doc = (await (await fetch(`${s.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, object>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/email/send', '/email/inbox', '/email/thread/{thread_id}', '/agents/register']),
    );
    expect(Object.keys(doc.components.schemas.Message?.properties ?? {})).toContain('in_reply_to');
    expect(Object.keys(doc.components.schemas.SendRequest?.properties ?? {})).toContain('idempotency_key');
  });

  it('serves the audit page of a thread to its participants only', async () => {
    const sent = (await (
      await s.request('/email/send', {
        method: 'POST',
        key: alice.api_key,
        body: JSON.stringify({ to: [bob.email_address], subject: 'TASK:t-9 — audit me' }),
      })
    ).json()) as { message_id: string; thread_id: string };
    await s.request('/email/send', {
      method: 'POST',
      key: bob.api_key,
      body: JSON.stringify({ to: [alice.email_address], subject: 'RESULT:t-9', in_reply_to: sent.message_id }),
    });
    const page = await s.request(`/ui/thread/${sent.thread_id}`, { key: bob.api_key });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    expect(html).toContain('<svg');
    expect(html).toContain('TASK:t-9 — audit me');
    expect(html).toContain('RESULT:t-9');
    const outsider = await s.register('outsider');
    expect((await s.request(`/ui/thread/${sent.thread_id}`, { key: outsider.api_key })).status).toBe(404);
  });

  it('never writes an API key or the admin key to its log', () => {
    const log = s.logLines.join('');
    expect(log.length).toBeGreaterThan(0);
    for (const secret of [alice.api_key, bob.api_key, 'admin-secret']) expect(log).not.toContain(secret);
  });
});

describe('mailroom-server command', () => {
  const cli = join(root, 'packages/server/dist/cli.js');

  it('documents its options with --help', async () => {
    const out = await new Promise<string>((resolve) => {
      const p = spawn('node', [cli, '--help']);
      let text = '';
      p.stdout.on('data', (d) => (text += d));
      p.on('close', () => resolve(text));
    });
    for (const flag of ['--host', '--port', '--db', '--domain', '--admin-key', '--hourly-limit', '--daily-limit'])
      expect(out).toContain(flag);
  });

  it('logs its URL on start, and on SIGTERM answers the request in flight before it exits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mailroom-cli-'));
    try {
      const p = spawn('node', [cli, '--port', '0', '--db', join(dir, 'm.db'), '--admin-key', 'k']);
      let log = '';
      const url = await new Promise<string>((resolve, reject) => {
        p.stdout.on('data', (d) => {
          log += d;
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
          if (m) resolve(m[1] as string);
        });
        p.on('exit', () => reject(new Error(`exited early: ${log}`)));
      });
      const reg = (await (
        await fetch(`${url}/agents/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-admin-key': 'k' },
          body: JSON.stringify({ agent_id: 'alice' }),
        })
      ).json()) as { api_key: string };
      const inFlight = fetch(`${url}/email/inbox?unread_only=true&wait=25`, { headers: { 'x-api-key': reg.api_key } });
      while (!log.includes('wait=25')) await new Promise<void>((r) => setImmediate(r));
      const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
      p.kill('SIGTERM');
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(await exited).toBe(0);
      expect(log).not.toContain(reg.api_key);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
