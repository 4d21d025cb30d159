import { describe, expect, it } from 'vitest';
import { cookie, parseCookies, SessionStore } from './session.js';

describe('dashboard sessions', () => {
  it('expire after their time to live without use, and each use extends them', () => {
    let now = 1_000;
    const store = new SessionStore(100, 10, () => now);
    const s = store.create({ kind: 'account', address: 'a@x' });
    now += 90;
    expect(store.get(s.id)?.principal).toEqual({ kind: 'account', address: 'a@x' });
    now += 90; // 180 after creation, 90 after the last use
    expect(store.alive(s.id)).toBe(true);
    now += 10;
    expect(store.get(s.id)).toBeUndefined();
    expect(store.alive(s.id)).toBe(false);
  });

  it('keep at most `max`, dropping the least recently used', () => {
    const store = new SessionStore(60_000, 2);
    const a = store.create({ kind: 'admin' });
    const b = store.create({ kind: 'admin' });
    store.get(a.id);
    const c = store.create({ kind: 'admin' });
    expect([store.alive(a.id), store.alive(b.id), store.alive(c.id)]).toEqual([true, false, true]);
  });

  it('are gone once deleted (sign-out), and ids and CSRF tokens differ between sessions', () => {
    const store = new SessionStore(60_000, 10);
    const a = store.create({ kind: 'admin' });
    const b = store.create({ kind: 'admin' });
    expect(a.id).not.toBe(b.id);
    expect(a.csrf).not.toBe(b.csrf);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    store.delete(a.id);
    expect(store.get(a.id)).toBeUndefined();
  });
});

describe('dashboard cookies', () => {
  it('are written HttpOnly, SameSite=Strict, on /ui, Secure over HTTPS', () => {
    expect(cookie('n', 'v w', { maxAgeS: 60, secure: false })).toBe(
      'n=v%20w; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=60',
    );
    expect(cookie('n', '', { maxAgeS: 0, secure: true })).toBe(
      'n=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0; Secure',
    );
  });

  it('are read from a Cookie header: the first of a name wins, malformed pairs are skipped', () => {
    const jar = parseCookies('a=1; b="two"; junk; a=3; c=%E0%A4%A; d=x%20y');
    expect([...jar]).toEqual([
      ['a', '1'],
      ['b', 'two'],
      ['d', 'x y'],
    ]);
    expect(parseCookies(undefined).size).toBe(0);
  });
});
