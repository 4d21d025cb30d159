import Database from 'libsql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from './support/server.js';
import { openSocket } from './support/socket.js';

type Server = Awaited<ReturnType<typeof startServer>>;
type Reg = Awaited<ReturnType<Server['register']>>;

/** A send from `from` to `to` over HTTP. */
const send = (s: Server, from: Reg, to: Reg, body: object = {}) =>
  s.request('/email/send', {
    method: 'POST',
    key: from.api_key,
    body: JSON.stringify({ to: [to.email_address], subject: 'hello', ...body }),
  });

describe('mailroom server: a store that cannot write', () => {
  let s: Server;
  let alice: Reg;
  let bob: Reg;
  beforeAll(async () => {
    s = await startServer({ office: { busyTimeoutMs: 50 } });
    alice = await s.register('alice');
    bob = await s.register('bob');
  });
  afterAll(() => s.close());

  it('answers 503 and reports the store not ready while another connection holds the write lock; every send after it succeeds', async () => {
    const other = new Database(s.path);
    try {
      other.exec('BEGIN IMMEDIATE');
      const registration = await fetch(`${s.url}/agents/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ agent_id: 'carol' }),
      });
      expect(registration.status).toBe(503);
      const locked = await send(s, alice, bob);
      expect(locked.status).toBe(503);
      expect(locked.headers.get('retry-after')).toBe('1');
      const ready = await fetch(`${s.url}/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'unready' });
      // Alive all the same: /health says the process answers, /ready that the store does.
      expect((await fetch(`${s.url}/health`)).status).toBe(200);
      other.exec('COMMIT');
    } finally {
      other.close();
    }
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const res = await send(s, alice, bob, { subject: `after ${i}` });
      expect(res.status).toBe(200);
      ids.add(((await res.json()) as { message_id: string }).message_id);
    }
    expect(ids.size).toBe(5);
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
    expect((await s.register('carol')).agent_id).toBe('carol');
  });

  it('logs the real error of a write SQLite rolled back itself, and sends again once the fault is gone', async () => {
    const other = new Database(s.path);
    try {
      // A statement that fails and takes the whole transaction with it, as a full disk does.
      other.exec(
        "CREATE TRIGGER injected_fault BEFORE INSERT ON entries BEGIN SELECT RAISE(ROLLBACK, 'injected: database or disk is full'); END",
      );
      expect((await send(s, alice, bob, { subject: 'fails' })).status).toBe(500);
      const log = s.logLines.join('');
      expect(log).toContain('injected: database or disk is full');
      expect(log).not.toContain('cannot rollback');
      other.exec('DROP TRIGGER injected_fault');
    } finally {
      other.close();
    }
    for (let i = 0; i < 3; i++) expect((await send(s, alice, bob, { subject: `ok ${i}` })).status).toBe(200);
    const sent = (await (await s.request('/email/sent?limit=100', { key: alice.api_key })).json()) as {
      messages: { subject: string }[];
    };
    expect(sent.messages.map((m) => m.subject)).not.toContain('fails');
  });
});

describe('mailroom server: slow bodies and many connections', () => {
  let s: Server;
  let alice: Reg;
  beforeAll(async () => {
    s = await startServer({ adminKey: 'admin-secret', requestTimeoutMs: 300, maxConnections: 4 });
    alice = await s.register('slow-alice');
  });
  afterAll(() => s.close());

  const head = (path: string, headers: Record<string, string>) =>
    `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n${Object.entries(
      headers,
    )
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n{"agent_id":`;

  it('refuses a registration with a wrong admin key before its body arrives, and closes the connection', async () => {
    const c = await openSocket(s.url);
    c.socket.write(head('/agents/register', { 'X-Admin-Key': 'wrong' }));
    const answer = await c.closed();
    expect(answer).toMatch(/^HTTP\/1\.1 401/);
  });

  it('refuses a send without a valid key before its body arrives', async () => {
    const c = await openSocket(s.url);
    c.socket.write(head('/email/send', { 'X-API-Key': 'not-a-key' }));
    expect(await c.closed()).toMatch(/^HTTP\/1\.1 401/);
  });

  it('cuts a request whose body trickles in: 408, connection closed', async () => {
    const c = await openSocket(s.url);
    c.socket.write(head('/email/send', { 'X-API-Key': alice.api_key }));
    expect(await c.closed()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('still answers a long poll that lasts longer than the request timeout', async () => {
    const res = await s.request('/email/inbox?wait=0.6', { key: alice.api_key });
    expect(res.status).toBe(200);
  });

  it('closes connections past the cap at once, and serves again when one is gone', async () => {
    const held = await Promise.all([0, 1, 2, 3].map(() => openSocket(s.url)));
    const extra = await openSocket(s.url);
    extra.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await extra.closed()).toBe('');
    const first = held[0] as (typeof held)[number];
    first.socket.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(await first.closed()).toMatch(/^HTTP\/1\.1 200/);
    // The server counts the closed connection out when its side has closed: ask until it has.
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      const c = await openSocket(s.url);
      c.socket.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      status = Number((await c.closed()).slice(9, 12));
    }
    expect(status).toBe(200);
    for (const c of held.slice(1)) c.socket.destroy();
  });
});

describe('mailroom server: input it cannot keep exactly, and its surface', () => {
  let s: Server;
  let alice: Reg;
  let bob: Reg;
  beforeAll(async () => {
    s = await startServer();
    alice = await s.register('in-alice');
    bob = await s.register('in-bob');
  });
  afterAll(() => s.close());

  it('refuses a NUL character with 422 rather than cutting the text after it', async () => {
    for (const body of [{ body_text: 'before\u0000after' }, { subject: 'a\u0000b' }, { body_html: '<p>\u0000</p>' }]) {
      const res = await send(s, alice, bob, body);
      expect(res.status).toBe(422);
      const detail = ((await res.json()) as { detail: { loc: unknown[] }[] }).detail;
      expect(detail[0]?.loc).toEqual([Object.keys(body)[0]]);
    }
    const reg = await fetch(`${s.url}/agents/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agent_id: 'nul-agent', profile: { display_name: 'x\u0000y' } }),
    });
    expect(reg.status).toBe(422);
  });

  // JSON may carry a lone surrogate (`\ud800`), which no message id is: a 404 like any unknown id,
  // for one id and among others (a batch read mark once crashed the server's process on it).
  it('answers 404 to a read mark naming an id that is not well-formed text, and goes on serving', async () => {
    const sent = (await (await send(s, alice, bob)).json()) as { message_id: string };
    for (const ids of ['["\\ud800"]', `["${sent.message_id}", "\\udfff"]`]) {
      const res = await s.request('/email/read', { method: 'POST', key: bob.api_key, body: `{"message_ids": ${ids}}` });
      expect(res.status).toBe(404);
    }
    const read = await s.request('/email/read', {
      method: 'POST',
      key: bob.api_key,
      body: JSON.stringify({ message_ids: [sent.message_id] }),
    });
    expect(read.status).toBe(200);
  });

  it('answers 422, not 500, to a registration profile nested deep or over 4 KiB', async () => {
    // Built as text: the test itself could not serialize an object this deep.
    const deep = `${'{"a":'.repeat(5000)}{}${'}'.repeat(5000)}`;
    const big = JSON.stringify({ display_name: 'x', notes: 'n'.repeat(5000) });
    for (const [id, profile] of [
      ['deep-agent', deep],
      ['big-agent', big],
    ]) {
      const res = await fetch(`${s.url}/agents/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"agent_id":"${id}","profile":${profile}}`,
      });
      expect(res.status).toBe(422);
    }
  });

  it('gives messages ids that cannot be guessed or counted: the time, then 80 random bits', async () => {
    const before = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(((await (await send(s, alice, bob)).json()) as { message_id: string }).message_id);
    const after = Date.now();
    for (const id of ids) {
      expect(id).toMatch(/^msg_[0-9a-f]{32}$/);
      const at = Number.parseInt(id.slice(4, 16), 16);
      expect(at).toBeGreaterThanOrEqual(before);
      expect(at).toBeLessThanOrEqual(after);
    }
    // The random parts share no more than chance would have them share (not a counter counting up).
    const [a, b, c] = ids.map((id) => id.slice(16)) as [string, string, string];
    for (const [x, y] of [
      [a, b],
      [b, c],
    ] as const) {
      let common = 0;
      while (x[common] === y[common]) common++;
      expect(common).toBeLessThan(8);
    }
    expect(new Set([a, b, c]).size).toBe(3);
  });

  it('answers 405 with Allow to a method a path does not have', async () => {
    const put = await s.request('/email/send', { method: 'PUT', key: alice.api_key, body: '{}' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('POST');
    const get = await fetch(`${s.url}/email/send`, { headers: { 'x-api-key': alice.api_key } });
    expect(get.status).toBe(405);
    expect(await get.json()).toHaveProperty('detail');
    expect(
      (await fetch(`${s.url}/email/message/msg_x`, { method: 'PUT', headers: { 'x-api-key': alice.api_key } })).status,
    ).toBe(405);
    expect((await s.request('/no/such/route', { key: alice.api_key })).status).toBe(404);
  });

  it('checks the key before the length of a path id, and answers 414 in its own error shape', async () => {
    const long = `msg_${'x'.repeat(5000)}`;
    expect((await fetch(`${s.url}/email/message/${long}`)).status).toBe(401);
    const res = await s.request(`/email/message/${long}`, { key: alice.api_key });
    expect(res.status).toBe(414);
    expect(Object.keys((await res.json()) as object)).toEqual(['detail']);
  });

  it('serves the audit page with a Content-Security-Policy and nosniff', async () => {
    const sent = (await (await send(s, alice, bob)).json()) as { thread_id: string };
    const page = await s.request(`/ui/thread/${sent.thread_id}`, { key: alice.api_key });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('never copies the Host header of a request into /openapi.json', async () => {
    const c = await openSocket(s.url);
    c.socket.write('GET /openapi.json HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n');
    const answer = await c.closed();
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(answer).not.toContain('evil.example');
  });
});
