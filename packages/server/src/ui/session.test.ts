import { describe, expect, it } from 'vitest';
import { cookie, parseCookies, SessionStore, SignInLimiter } from './session.js';

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

  it('keep an account’s key only while the session lives', () => {
    let now = 0;
    const store = new SessionStore(100, 10, () => now);
    const a = store.create({ kind: 'account', address: 'a@x' }, 'key-a');
    const b = store.create({ kind: 'account', address: 'b@x' }, 'key-b');
    expect(store.keyOf(a.id)).toBe('key-a');
    store.delete(a.id);
    expect(store.keyOf(a.id)).toBeUndefined();
    now += 100;
    expect(store.get(b.id)).toBeUndefined();
    expect(store.keyOf(b.id)).toBeUndefined();
  });
});

describe('dashboard sign-in limit', () => {
  it('allows a burst per client address, then one attempt per refill interval', () => {
    let now = 0;
    const limiter = new SignInLimiter(3, 1_000, () => now);
    expect([limiter.take('1.2.3.4'), limiter.take('1.2.3.4'), limiter.take('1.2.3.4')]).toEqual([0, 0, 0]);
    expect(limiter.take('1.2.3.4')).toBe(1_000);
    expect(limiter.take('5.6.7.8')).toBe(0); // another address has its own bucket
    now += 400;
    expect(limiter.take('1.2.3.4')).toBe(600);
    now += 600;
    expect(limiter.take('1.2.3.4')).toBe(0);
    expect(limiter.take('1.2.3.4')).toBe(1_000);
    now += 60_000; // refilled, never past the burst
    expect([0, 1, 2, 3].map(() => limiter.take('1.2.3.4'))).toEqual([0, 0, 0, 1_000]);
  });

  it('keeps at most maxClients buckets, forgetting the one whose last attempt is oldest', () => {
    const limiter = new SignInLimiter(1, 60_000, () => 0, 2);
    limiter.take('a');
    limiter.take('b');
    limiter.take('c'); // forgets a
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('c')).toBe(60_000);
  });
});
