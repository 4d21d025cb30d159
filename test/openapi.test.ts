import Database from 'libsql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from './support/server.js';

type Doc = { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };

/**
 * The OpenAPI document against the server: every request below is answered with a status the
 * document lists for that operation, and every method a documented path lacks answers 405.
 */
describe('/openapi.json describes what the server does', () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  let doc: Doc;
  let key: string;
  let limitedKey: string;
  let to: string;
  let ids: { message: string; thread: string };
  const seen: { path: string; method: string; status: number }[] = [];

  beforeAll(async () => {
    s = await startServer({ adminKey: 'admin-secret', bodyLimit: 512 * 1024, office: { busyTimeoutMs: 20 } });
    doc = (await (await fetch(`${s.url}/openapi.json`)).json()) as Doc;
    const a = await s.register('doc-a');
    const b = await s.register('doc-b');
    const limited = await s.register('doc-limited');
    s.postOffice.setLimits(limited.email_address, { hourly: 0 });
    key = a.api_key;
    limitedKey = limited.api_key;
    to = b.email_address;
    const sent = (await (
      await s.request('/email/send', { method: 'POST', key, body: JSON.stringify({ to: [to], subject: 'doc' }) })
    ).json()) as { message_id: string; thread_id: string };
    ids = { message: sent.message_id, thread: sent.thread_id };
  });
  afterAll(() => s.close());

  /** One request to a documented operation; records its status against the documented path. */
  async function probe(
    method: string,
    path: string,
    params: Record<string, string>,
    init: { key?: string | null; body?: string; query?: string; headers?: Record<string, string> } = {},
  ) {
    const url = path.replace(/\{(\w+)\}/g, (_, name: string) => params[name] ?? '');
    const headers: Record<string, string> = {
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(init.key === null ? {} : { 'x-api-key': init.key ?? key }),
      'x-admin-key': 'admin-secret',
      ...init.headers,
    };
    const res = await fetch(`${s.url}${url}${init.query ?? ''}`, {
      method,
      headers,
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    await res.arrayBuffer();
    seen.push({ path, method: method.toLowerCase(), status: res.status });
    return res.status;
  }

  it('lists every status its operations answer', async () => {
    const long = 'x'.repeat(200);
    const msg = { message_id: ids.message };
    const thr = { thread_id: ids.thread };
    const big = JSON.stringify({ to: [to], subject: 'big', body_text: 'x'.repeat(300 * 1024) });
    // Happy paths.
    await probe('POST', '/agents/register', {}, { body: JSON.stringify({ agent_id: 'doc-new' }) });
    await probe('POST', '/email/send', {}, { body: JSON.stringify({ to: [to], subject: 'x' }) });
    await probe('GET', '/email/inbox', {});
    await probe('GET', '/email/sent', {});
    await probe('GET', '/email/message/{message_id}', msg);
    await probe('POST', '/email/message/{message_id}/read', msg);
    await probe('POST', '/email/message/{message_id}/star', msg);
    await probe('POST', '/email/read', {}, { body: JSON.stringify({ message_ids: [ids.message] }) });
    await probe('POST', '/email/send/batch', {}, { body: JSON.stringify({ sends: [{ to: [to], subject: 'x' }] }) });
    await probe('GET', '/email/thread/{thread_id}', thr);
    await probe('GET', '/ui/thread/{thread_id}', thr);
    await probe('GET', '/email/account', {});
    await probe('GET', '/health', {}, { key: null });
    await probe('GET', '/openapi.json', {}, { key: null });
    // No key, or a bad admin key.
    for (const [method, path, params] of [
      ['POST', '/email/send', {}],
      ['GET', '/email/inbox', {}],
      ['GET', '/email/sent', {}],
      ['GET', '/email/message/{message_id}', msg],
      ['DELETE', '/email/message/{message_id}', msg],
      ['POST', '/email/message/{message_id}/read', msg],
      ['POST', '/email/message/{message_id}/star', msg],
      ['POST', '/email/read', {}],
      ['POST', '/email/send/batch', {}],
      ['GET', '/email/inbox/stream', {}],
      ['GET', '/email/thread/{thread_id}', thr],
      ['GET', '/ui/thread/{thread_id}', thr],
      ['GET', '/email/account', {}],
    ] as const) {
      expect(await probe(method, path, params, { key: null })).toBe(401);
    }
    expect(await probe('POST', '/agents/register', {}, { body: '{}', headers: { 'x-admin-key': 'wrong' } })).toBe(401);
    // Path ids too long for any id.
    for (const [method, path, name] of [
      ['GET', '/email/message/{message_id}', 'message_id'],
      ['DELETE', '/email/message/{message_id}', 'message_id'],
      ['POST', '/email/message/{message_id}/read', 'message_id'],
      ['POST', '/email/message/{message_id}/star', 'message_id'],
      ['GET', '/email/thread/{thread_id}', 'thread_id'],
      ['GET', '/ui/thread/{thread_id}', 'thread_id'],
    ] as const) {
      expect(await probe(method, path, { [name]: long })).toBe(414);
      expect(await probe(method, path, { [name]: 'msg_nope' })).toBe(404);
    }
    // Bodies that are not JSON, too large, or invalid.
    expect(await probe('GET', '/email/inbox/stream', {}, { query: '?cursor=forged' })).toBe(422);
    for (const path of ['/agents/register', '/email/send', '/email/read', '/email/send/batch']) {
      expect(await probe('POST', path, {}, { body: '{not json' })).toBe(400);
      expect(await probe('POST', path, {}, { body: JSON.stringify({ pad: 'x'.repeat(600 * 1024) }) })).toBe(413);
      expect(await probe('POST', path, {}, { body: '{}' })).toBe(422);
    }
    expect(await probe('POST', '/email/message/{message_id}/star', msg, { body: '{not json' })).toBe(400);
    expect(await probe('DELETE', '/email/message/{message_id}', msg, { body: '{not json' })).toBe(400);
    expect(await probe('POST', '/email/message/{message_id}/read', msg, { query: '?unread=maybe' })).toBe(422);
    expect(await probe('GET', '/email/inbox', {}, { query: '?limit=0' })).toBe(422);
    expect(await probe('GET', '/email/sent', {}, { query: '?limit=101' })).toBe(422);
    expect(await probe('POST', '/email/send', {}, { body: big })).toBe(413);
    expect(
      await probe(
        'POST',
        '/email/send',
        {},
        { body: JSON.stringify({ to: [`ghost@agents.localhost`], subject: 'x' }) },
      ),
    ).toBe(404);
    expect(await probe('POST', '/email/read', {}, { body: JSON.stringify({ message_ids: ['msg_nope'] }) })).toBe(404);
    expect(await probe('POST', '/agents/register', {}, { body: JSON.stringify({ agent_id: 'doc-a' }) })).toBe(409);
    expect(
      await probe('POST', '/email/send', {}, { key: limitedKey, body: JSON.stringify({ to: [to], subject: 'x' }) }),
    ).toBe(429);
    // A store that cannot write.
    const other = new Database(s.path);
    try {
      other.exec('BEGIN IMMEDIATE');
      expect(await probe('POST', '/email/send', {}, { body: JSON.stringify({ to: [to], subject: 'x' }) })).toBe(503);
      expect(await probe('POST', '/email/message/{message_id}/star', msg)).toBe(503);
      expect(await probe('GET', '/health', {}, { key: null })).toBe(503);
      other.exec('ROLLBACK');
    } finally {
      other.close();
    }
    await probe('DELETE', '/email/message/{message_id}', msg);

    const undocumented = seen.filter(
      ({ path, method, status }) => !doc.paths[path]?.[method]?.responses[String(status)],
    );
    expect(undocumented).toEqual([]);
  });

  it('answers 405 to every method a documented path does not list', async () => {
    const wrong: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      const url = path.replace(/\{\w+\}/g, 'msg_x');
      for (const method of ['GET', 'POST', 'DELETE', 'PUT', 'PATCH']) {
        if (ops[method.toLowerCase()]) continue;
        const res = await fetch(`${s.url}${url}`, { method, headers: { 'x-api-key': key } });
        await res.arrayBuffer();
        if (res.status !== 405) wrong.push(`${method} ${path}: ${res.status}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
