import { ValidationError } from '@mailroom/core';
import { failoverFetch } from '@mailroom/http';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from './support/server.js';

describe('failoverFetch (clients of several replicas)', () => {
  const servers: Awaited<ReturnType<typeof startServer>>[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close().catch(() => undefined);
  });

  it('goes to the next replica when one cannot be reached, and stays there', async () => {
    const a = await startServer();
    const b = await startServer();
    servers.push(b);
    const seen: string[] = [];
    const f = failoverFetch([a.url, b.url], {
      fetch: (input, init) => {
        seen.push(new URL(String(input)).origin);
        return fetch(input, init);
      },
    });
    expect((await f(`${a.url}/health`)).status).toBe(200);
    await a.close();
    const body = JSON.stringify({ agent_id: 'moved' });
    const res = await f(`${a.url}/agents/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(201); // the body went along to the other replica
    expect((await f(`${a.url}/health`)).status).toBe(200);
    expect(seen).toEqual([a.url, a.url, b.url, b.url]);
  });

  it('refuses an empty list or a malformed URL', () => {
    expect(() => failoverFetch([])).toThrow(ValidationError);
    expect(() => failoverFetch(['http://127.0.0.1:1', 'not a url'])).toThrow(ValidationError);
  });

  it('throws what the last replica threw when none can be reached', async () => {
    const a = await startServer();
    await a.close();
    await expect(failoverFetch([a.url])(`${a.url}/health`)).rejects.toThrow();
  });
});
