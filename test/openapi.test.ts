import { buildServer, openApiDocument, SqlitePostOffice } from '@mailroom/server';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import Database from 'libsql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startServer } from './support/server.js';

type Operation = { responses: Record<string, { content?: Record<string, unknown> }> };
type Doc = { paths: Record<string, Record<string, Operation>>; components: object };
type Seen = { path: string; method: string; status: number; problem?: string };

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

/**
 * The OpenAPI document against the server: every request below is answered with a status the
 * document lists for that operation, with a body that its schema accepts; every operation is
 * called until it succeeds once; and every method a documented path lacks answers 405.
 */
describe('/openapi.json describes what the server does', () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  let open: Awaited<ReturnType<typeof startServer>>;
  let doc: Doc;
  let ajv: Ajv2020;
  let key: string;
  let limitedKey: string;
  let to: string;
  let ids: { message: string; thread: string };
  const seen: Seen[] = [];

  beforeAll(async () => {
    s = await startServer({ adminKey: 'admin-secret', bodyLimit: 512 * 1024, office: { busyTimeoutMs: 20 } });
    open = await startServer();
    doc = (await (await fetch(`${s.url}/openapi.json`)).json()) as Doc;
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ ...doc, $id: 'doc' });
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
  afterAll(async () => {
    await s.close();
    await open.close();
  });

  /** The schema the document gives for an answer, as a JSON pointer into it (or why there is none). */
  function schemaPointer(path: string, method: string, status: number, type: string): string | Error {
    const op = doc.paths[path]?.[method];
    if (!op) return new Error('operation not in the document');
    const response = op.responses[String(status)];
    if (!response) return new Error(`status ${status} not listed`);
    const media = type.split(';')[0]?.trim() ?? '';
    if (!response.content?.[media]) return new Error(`no ${media} body listed for ${status}`);
    const esc = (p: string) => p.replaceAll('~', '~0').replaceAll('/', '~1');
    return `doc#/paths/${esc(path)}/${method}/responses/${status}/content/${esc(media)}/schema`;
  }

  /** One request to a documented operation; checks its status and body against the document. */
  async function probe(
    method: string,
    path: string,
    params: Record<string, string>,
    init: {
      key?: string | null;
      admin?: string | null;
      body?: string;
      query?: string;
      server?: string;
      /** An event stream: its status and headers are read, then it is let go. */
      stream?: boolean;
    } = {},
  ) {
    const url = path.replace(/\{(\w+)\}/g, (_, name: string) => params[name] ?? '');
    const headers: Record<string, string> = {
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(init.key === null ? {} : { 'x-api-key': init.key ?? key }),
      ...(init.admin === null ? {} : { 'x-admin-key': init.admin ?? 'admin-secret' }),
    };
    const stop = new AbortController();
    const res = await fetch(`${init.server ?? s.url}${url}${init.query ?? ''}`, {
      method,
      headers,
      signal: stop.signal,
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    const streaming = init.stream === true && res.status === 200;
    const text = streaming ? '' : await res.text();
    if (streaming) stop.abort();
    const m = method.toLowerCase();
    const type = res.headers.get('content-type') ?? '';
    const pointer = schemaPointer(path, m, res.status, type);
    let problem: string | undefined;
    if (pointer instanceof Error) problem = pointer.message;
    else if (type.startsWith('application/json')) {
      const validate = ajv.getSchema(pointer) ?? ajv.compile({ $ref: pointer });
      if (!validate(JSON.parse(text))) problem = `body: ${ajv.errorsText(validate.errors)} in ${text.slice(0, 300)}`;
    }
    seen.push({ path, method: m, status: res.status, ...(problem ? { problem } : {}) });
    return res.status;
  }

  it('is written from the routes: every route the server has is in it (or hidden on purpose)', async () => {
    expect(s.app.routeBook.undeclared()).toEqual([]);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/health',
        '/ready',
        '/admin/accounts',
        '/admin/accounts/{agent_id}/rotate-key',
        '/admin/accounts/{agent_id}/revoke-key',
        '/admin/accounts/{agent_id}/limits',
        '/email/claim',
        '/email/lease',
        '/ui/thread/{thread_id}',
      ]),
    );
    expect(doc.paths['/agents/register']?.post?.responses['201']).toBeDefined();
    // Its description names every extension a client may use, push and batch send among them.
    const description = (doc as unknown as { info: { description: string } }).info.description;
    for (const ext of ['push', 'long-poll', 'batch send', 'batch read', 'leases', 'admin API']) {
      expect(description).toContain(ext);
    }
  });

  it('every answer, success and error, has a status and a body the document lists', async () => {
    const long = 'x'.repeat(200);
    const msg = { message_id: ids.message };
    const thr = { thread_id: ids.thread };
    const agent = { agent_id: 'doc-a' };
    const big = JSON.stringify({ to: [to], subject: 'big', body_text: 'x'.repeat(300 * 1024) });
    // Happy paths.
    expect(await probe('POST', '/agents/register', {}, { body: JSON.stringify({ agent_id: 'doc-new' }) })).toBe(201);
    expect(await probe('POST', '/email/send', {}, { body: JSON.stringify({ to: [to], subject: 'x' }) })).toBe(200);
    expect(await probe('GET', '/email/inbox', {}, { key: (await s.register('doc-c')).api_key })).toBe(200);
    expect(await probe('GET', '/email/inbox', {}, { query: '?limit=1&unread_only=true' })).toBe(200);
    expect(await probe('GET', '/email/sent', {})).toBe(200);
    expect(await probe('GET', '/email/message/{message_id}', msg)).toBe(200);
    expect(await probe('POST', '/email/message/{message_id}/read', msg)).toBe(200);
    expect(await probe('POST', '/email/message/{message_id}/star', msg)).toBe(200);
    expect(await probe('POST', '/email/read', {}, { body: JSON.stringify({ message_ids: [ids.message] }) })).toBe(200);
    expect(await probe('POST', '/email/read', {}, { body: JSON.stringify({ message_ids: ['msg_nope'] }) })).toBe(404);
    expect(
      await probe('POST', '/email/send/batch', {}, { body: JSON.stringify({ sends: [{ to: [to], subject: 'x' }] }) }),
    ).toBe(200);
    expect(await probe('GET', '/email/inbox/stream', {}, { stream: true })).toBe(200);
    expect(await probe('GET', '/email/inbox/stream', {}, { query: '?cursor=forged' })).toBe(422);
    expect(await probe('GET', '/email/thread/{thread_id}', thr)).toBe(200);
    expect(await probe('GET', '/ui/thread/{thread_id}', thr)).toBe(200);
    expect(await probe('GET', '/email/account', {})).toBe(200);
    expect(await probe('GET', '/health', {}, { key: null })).toBe(200);
    expect(await probe('GET', '/ready', {}, { key: null })).toBe(200);
    expect(await probe('GET', '/openapi.json', {}, { key: null })).toBe(200);
    expect(await probe('GET', '/admin/accounts', {}, { key: null, query: '?limit=2' })).toBe(200);
    // b reads its inbox, claims and renews, marks read in a batch.
    const rotated = await fetch(`${s.url}/admin/accounts/doc-b/rotate-key`, {
      method: 'POST',
      headers: { 'x-admin-key': 'admin-secret' },
    });
    expect(rotated.status).toBe(200);
    const bKey = (await rotated.json()) as { api_key: string };
    await s.request('/email/send', { method: 'POST', key, body: JSON.stringify({ to: [to], subject: 'claim me' }) });
    const claimed = await fetch(`${s.url}/email/claim?limit=5`, { headers: { 'x-api-key': bKey.api_key } });
    const lease = (await claimed.json()) as { lease_id: string; messages: { message_id: string }[] };
    expect(await probe('GET', '/email/claim', {}, { key: bKey.api_key, query: '?limit=1&lease_seconds=5' })).toBe(200);
    expect(
      await probe(
        'POST',
        '/email/lease',
        {},
        { key: bKey.api_key, body: JSON.stringify({ lease_id: lease.lease_id, lease_seconds: 10 }) },
      ),
    ).toBe(200);
    expect(
      await probe(
        'POST',
        '/email/read',
        {},
        { key: bKey.api_key, body: JSON.stringify({ message_ids: lease.messages.map((m) => m.message_id) }) },
      ),
    ).toBe(200);
    expect(await probe('POST', '/admin/accounts/{agent_id}/rotate-key', { agent_id: 'doc-new' }, { key: null })).toBe(
      200,
    );
    expect(await probe('POST', '/admin/accounts/{agent_id}/revoke-key', { agent_id: 'doc-new' }, { key: null })).toBe(
      200,
    );
    expect(
      await probe(
        'POST',
        '/admin/accounts/{agent_id}/limits',
        { agent_id: 'doc-new' },
        { key: null, body: JSON.stringify({ hourly: 50 }) },
      ),
    ).toBe(200);
    // No key, an unknown key, or a bad admin key.
    for (const [method, path, params] of [
      ['POST', '/email/send', {}],
      ['GET', '/email/inbox', {}],
      ['GET', '/email/sent', {}],
      ['GET', '/email/message/{message_id}', msg],
      ['DELETE', '/email/message/{message_id}', msg],
      ['POST', '/email/message/{message_id}/read', msg],
      ['POST', '/email/message/{message_id}/star', msg],
      ['POST', '/email/read', {}],
      ['GET', '/email/thread/{thread_id}', thr],
      ['GET', '/ui/thread/{thread_id}', thr],
      ['GET', '/email/account', {}],
      ['GET', '/email/claim', {}],
      ['POST', '/email/lease', {}],
    ] as const) {
      expect(await probe(method, path, params, { key: null })).toBe(401);
      expect(await probe(method, path, params, { key: 'mr_not-a-key' })).toBe(401);
    }
    expect(await probe('POST', '/agents/register', {}, { body: '{}', admin: 'wrong' })).toBe(401);
    for (const [method, path, params] of [
      ['GET', '/admin/accounts', {}],
      ['POST', '/admin/accounts/{agent_id}/rotate-key', agent],
      ['POST', '/admin/accounts/{agent_id}/revoke-key', agent],
      ['POST', '/admin/accounts/{agent_id}/limits', agent],
    ] as const) {
      expect(await probe(method, path, params, { admin: 'wrong' })).toBe(401);
      expect(await probe(method, path, params, { admin: null })).toBe(401);
      // A server without an admin key has no admin API.
      expect(await probe(method, path, params, { admin: null, server: open.url })).toBe(403);
    }
    // Path ids too long for any id, or unknown.
    for (const [method, path, name] of [
      ['GET', '/email/message/{message_id}', 'message_id'],
      ['DELETE', '/email/message/{message_id}', 'message_id'],
      ['POST', '/email/message/{message_id}/read', 'message_id'],
      ['POST', '/email/message/{message_id}/star', 'message_id'],
      ['GET', '/email/thread/{thread_id}', 'thread_id'],
      ['GET', '/ui/thread/{thread_id}', 'thread_id'],
      ['POST', '/admin/accounts/{agent_id}/rotate-key', 'agent_id'],
      ['POST', '/admin/accounts/{agent_id}/revoke-key', 'agent_id'],
    ] as const) {
      expect(await probe(method, path, { [name]: long })).toBe(414);
      expect(await probe(method, path, { [name]: 'msg-nope' })).toBe(404);
    }
    expect(await probe('POST', '/admin/accounts/{agent_id}/rotate-key', { agent_id: 'Not_An_Id' })).toBe(422);
    // Bodies that are not JSON, too large, invalid, with a NUL, or too deep.
    const deep = JSON.stringify(Array.from({ length: 20 }).reduce<unknown>((inner) => ({ a: inner }), {}));
    for (const path of ['/agents/register', '/email/send', '/email/read', '/email/lease', '/email/send/batch']) {
      expect(await probe('POST', path, {}, { body: '{not json' })).toBe(400);
      expect(await probe('POST', path, {}, { body: JSON.stringify({ pad: 'x'.repeat(600 * 1024) }) })).toBe(413);
      expect(await probe('POST', path, {}, { body: '{}' })).toBe(422);
      expect(await probe('POST', path, {}, { body: JSON.stringify({ subject: 'a\u0000b' }) })).toBe(422);
      expect(await probe('POST', path, {}, { body: deep })).toBe(422);
    }
    expect(await probe('POST', '/email/message/{message_id}/star', msg, { body: '{not json' })).toBe(400);
    expect(await probe('DELETE', '/email/message/{message_id}', msg, { body: '{not json' })).toBe(400);
    expect(await probe('POST', '/email/message/{message_id}/read', msg, { query: '?unread=maybe' })).toBe(422);
    expect(await probe('GET', '/email/inbox', {}, { query: '?limit=0' })).toBe(422);
    expect(await probe('GET', '/email/sent', {}, { query: '?limit=101' })).toBe(422);
    expect(await probe('GET', '/email/claim', {}, { query: '?lease_seconds=0' })).toBe(422);
    expect(await probe('GET', '/admin/accounts', {}, { query: '?limit=0' })).toBe(422);
    expect(await probe('POST', '/email/send', {}, { body: big })).toBe(413);
    expect(
      await probe(
        'POST',
        '/email/send',
        {},
        { body: JSON.stringify({ to: ['ghost@agents.localhost'], subject: 'x' }) },
      ),
    ).toBe(404);
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
      expect(await probe('POST', '/admin/accounts/{agent_id}/revoke-key', { agent_id: 'doc-new' })).toBe(503);
      expect(await probe('GET', '/ready', {}, { key: null })).toBe(503);
      expect(await probe('GET', '/health', {}, { key: null })).toBe(200);
      other.exec('ROLLBACK');
    } finally {
      other.close();
    }
    expect(await probe('DELETE', '/email/message/{message_id}', msg)).toBe(200);

    expect(seen.filter((x) => x.problem)).toEqual([]);
    // Every documented operation was seen to succeed.
    const succeeded = new Set(seen.filter((x) => x.status < 300).map((x) => `${x.method} ${x.path}`));
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(operations.filter((op) => !succeeded.has(op))).toEqual([]);
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

describe('a route declared with its schemas is in the document', () => {
  it('a stream with a header parameter: its media type, its header, the statuses its shape implies', () => {
    const doc = openApiDocument([
      {
        method: 'GET',
        url: '/email/things/:thing_id/stream',
        summary: 'a stream of things',
        auth: 'apiKey',
        params: z.object({ thing_id: z.string().max(128) }),
        headers: z.object({ 'last-event-id': z.string().optional() }),
        response: { body: { mediaType: 'text/event-stream' } },
      },
      { method: 'GET', url: '/ui/secret', summary: 'a page', auth: 'none', response: { body: 'html' }, hide: true },
    ]) as Doc & { paths: Record<string, Record<string, { parameters: { name: string; in: string }[] }>> };
    const op = doc.paths['/email/things/{thing_id}/stream']?.get;
    expect(Object.keys(op?.responses ?? {})).toEqual(['200', '401', '404', '414', '422', '503']);
    expect(op?.responses['200']?.content).toHaveProperty(['text/event-stream']);
    expect(op?.parameters.map((p) => `${p.in} ${p.name}`)).toEqual(['path thing_id', 'header last-event-id']);
    expect(doc.paths['/ui/secret']).toBeUndefined();
  });

  it('a route added to Fastify directly is found undeclared, unless it says schema: { hide: true }', async () => {
    const postOffice = new SqlitePostOffice({ path: ':memory:' });
    const app = buildServer({ postOffice });
    app.get('/ui/page', { schema: { hide: true } as object }, async () => 'a page for people');
    app.get('/raw', async () => ({}));
    await app.ready();
    expect(app.routeBook.undeclared()).toEqual(['GET /raw']);
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as Doc;
    expect(doc.paths['/ui/page']).toBeUndefined();
    await app.close();
    postOffice.close();
  });
});
