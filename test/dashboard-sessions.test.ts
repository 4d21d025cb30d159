import { SqlitePostOffice } from '@mailroom/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from './support/server.js';

// Dashboard sessions over plain HTTP (the browser's part is in dashboard.test.ts): what ends a
// session, and how many sign-in attempts a client gets.

const ADMIN_KEY = 'admin-key-for-the-session-test';

describe('dashboard sessions', () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    s = await startServer({ adminKey: ADMIN_KEY });
  });
  afterAll(() => s.close());

  /** Signs in as a browser does (sign-in page, its cookie and token, the form); the answer and the session cookie. */
  const signIn = async (key: string) => {
    const res = await signInWith(s.url, key);
    const session = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0] ?? '')
      .find((c) => c.startsWith('mailroom_session=') && c !== 'mailroom_session=');
    return { res, cookie: session ?? '' };
  };
  const overview = (cookie: string) => fetch(`${s.url}/ui/agents`, { redirect: 'manual', headers: { cookie } });

  it('ends an account’s session when its key is rotated, even by another process on the same store', async () => {
    const carol = await s.register('carol');
    const { res, cookie } = await signIn(carol.api_key);
    expect(res.status).toBe(303);
    expect((await overview(cookie)).status).toBe(200);

    // What `mailroom-server rotate-key carol` does: another connection to the same SQLite file.
    const other = new SqlitePostOffice({ path: s.path });
    const rotated = await other.rotateKey('carol');
    other.close();

    const after = await overview(cookie);
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toBe('/ui/sign-in');
    expect(s.logLines.join('')).toContain('dashboard session ended: its key was rotated or revoked');
    // The session is gone, not just refused once; the new key signs in again.
    expect((await overview(cookie)).status).toBe(303);
    const again = await signIn(rotated.api_key);
    expect((await overview(again.cookie)).status).toBe(200);
  });

  it('ends an account’s session when its key is revoked through the admin API, and keeps the admin’s', async () => {
    const dave = await s.register('dave');
    const account = await signIn(dave.api_key);
    const admin = await signIn(ADMIN_KEY);
    expect((await overview(account.cookie)).status).toBe(200);

    const revoke = await fetch(`${s.url}/admin/accounts/dave/revoke-key`, {
      method: 'POST',
      headers: { 'x-admin-key': ADMIN_KEY },
    });
    expect(revoke.status).toBe(200);

    expect((await overview(account.cookie)).status).toBe(303);
    expect((await overview(admin.cookie)).status).toBe(200);
    // The live-update stream of that session is refused as well.
    expect((await fetch(`${s.url}/ui/events`, { headers: { cookie: account.cookie } })).status).toBe(401);
  });
});

describe('dashboard sign-in attempts', () => {
  it('allows a burst of attempts per client address, then answers 429 with Retry-After', async () => {
    const s = await startServer({ adminKey: ADMIN_KEY });
    try {
      const answers: number[] = [];
      for (let i = 0; i < 11; i++) answers.push((await signInWith(s.url, `wrong-key-${i}`)).status);
      expect(answers).toEqual([...Array(10).fill(401), 429]);
      const refused = await signInWith(s.url, ADMIN_KEY); // even the right key, until the bucket refills
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await refused.text()).toContain('Too many sign-in attempts from your address');
      expect(s.logLines.join('')).toContain('dashboard sign-in refused: too many attempts');
    } finally {
      await s.close();
    }
  });
});

/** Signs in as a browser does: the sign-in page (its cookie and token), then the form. */
async function signInWith(url: string, key: string): Promise<Response> {
  const form = await fetch(`${url}/ui/sign-in`, { redirect: 'manual' });
  const signInCookie = (form.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
  return fetch(`${url}/ui/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url, cookie: signInCookie },
    body: new URLSearchParams({ _csrf: token, key }).toString(),
  });
}

describe('the dashboard in a browser that types a URL', () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    s = await startServer({ adminKey: ADMIN_KEY });
  });
  afterAll(() => s.close());
  const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

  it('GET / leads to the dashboard', async () => {
    const res = await fetch(`${s.url}/`, { redirect: 'manual', headers: BROWSER });
    expect({ status: res.status, location: res.headers.get('location') }).toEqual({ status: 302, location: '/ui' });
  });

  it('a page that is not there: an HTML page with the message and a link back; the API keeps its JSON', async () => {
    for (const path of ['/nope', '/ui/nope']) {
      const res = await fetch(`${s.url}${path}`, { headers: BROWSER });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      const text = await res.text();
      expect(text).toContain(`There is no page ${path}.`);
      expect(text).toContain('<a href="/ui">');
    }
    // The API answers JSON, to a browser too; so does a client that does not ask for HTML.
    for (const [path, headers] of [
      ['/email/nope', BROWSER],
      ['/nope', { accept: 'application/json' }],
    ] as const) {
      const res = await fetch(`${s.url}${path}`, { headers });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ detail: `no route GET ${path}` });
    }
  });

  it('a form whose token has expired: an HTML page with the message and a link back', async () => {
    const res = await fetch(`${s.url}/ui/sign-in`, {
      method: 'POST',
      headers: { ...BROWSER, 'content-type': 'application/x-www-form-urlencoded', origin: s.url },
      body: new URLSearchParams({ _csrf: 'stale', key: ADMIN_KEY }).toString(),
      redirect: 'manual',
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const text = await res.text();
    expect(text).toMatch(/expired|Reload/);
    expect(text).toContain('<a href="/ui">');
  });
});
