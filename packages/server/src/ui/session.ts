import { randomBytes, timingSafeEqual } from 'node:crypto';

/** Who a session belongs to: the server's operator (admin key) or one account (its API key). */
export type Principal = { kind: 'admin' } | { kind: 'account'; address: string };

/** A signed-in browser. The key it signed in with is never kept. */
export type Session = {
  id: string;
  principal: Principal;
  /** The token every form of this session carries (`_csrf`). */
  csrf: string;
  expiresAt: number;
};

export const SESSION_COOKIE = 'mailroom_session';
/** The sign-in form's own token (double submit: cookie and field must match). */
export const SIGN_IN_COOKIE = 'mailroom_sign_in';

const token = () => randomBytes(32).toString('base64url');

/**
 * Sessions in memory, with an expiry (sliding: each use extends it up to `ttlMs` from then).
 * At most `max` at once: past it the oldest is dropped. A restart signs everybody out.
 *
 * An account's session keeps the key it signed in with, here in the server's memory only (never
 * in the {@link Session} the pages see, a cookie or the log), so that each use can ask the store
 * whether the key still opens the account: a rotated or revoked key ends the session.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly keys = new Map<string, string>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new session; `key` is the API key an account signed in with (see the class). */
  create(principal: Principal, key?: string): Session {
    this.sweep();
    while (this.sessions.size >= this.max) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.delete(oldest);
    }
    const session = { id: token(), principal, csrf: token(), expiresAt: this.now() + this.ttlMs };
    this.sessions.set(session.id, session);
    if (key !== undefined) this.keys.set(session.id, key);
    return session;
  }

  /** The key a live session signed in with (accounts only). */
  keyOf(id: string): string | undefined {
    return this.sessions.has(id) ? this.keys.get(id) : undefined;
  }

  /** The live session of an id, extended; `undefined` when unknown or expired. */
  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (session.expiresAt <= this.now()) {
      this.delete(id);
      return undefined;
    }
    session.expiresAt = this.now() + this.ttlMs;
    // Most recently used last: the oldest is the first to go when the store is full.
    this.sessions.delete(id);
    this.sessions.set(id, session);
    return session;
  }

  /** Whether a session is still live, without extending it. */
  alive(id: string): boolean {
    const session = this.sessions.get(id);
    return session !== undefined && session.expiresAt > this.now();
  }

  delete(id: string): void {
    this.sessions.delete(id);
    this.keys.delete(id);
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.delete(id);
  }
}

/**
 * Sign-in attempts per client address, a token bucket each: `burst` attempts at once, then one
 * more every `refillMs`. At most `maxClients` buckets are kept: past it, the one whose last
 * attempt is oldest is forgotten (a full bucket again, for that client).
 */
export class SignInLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly burst = 10,
    private readonly refillMs = 6_000,
    private readonly now: () => number = Date.now,
    private readonly maxClients = 10_000,
  ) {}

  /** Takes one attempt for `client`: 0 when it may go ahead, else how many ms until it may. */
  take(client: string): number {
    const now = this.now();
    const bucket = this.buckets.get(client);
    const tokens = bucket ? Math.min(this.burst, bucket.tokens + (now - bucket.at) / this.refillMs) : this.burst;
    if (tokens < 1) {
      if (bucket) {
        bucket.tokens = tokens;
        bucket.at = now;
      }
      return Math.ceil((1 - tokens) * this.refillMs);
    }
    this.buckets.delete(client); // set again below: the most recent attempt last
    this.buckets.set(client, { tokens: tokens - 1, at: now });
    while (this.buckets.size > this.maxClients) {
      const oldest = this.buckets.keys().next().value;
      if (oldest === undefined) break;
      this.buckets.delete(oldest);
    }
    return 0;
  }
}

export { token as newToken };

/** Compares two secrets in constant time (for equal lengths). */
export function sameSecret(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The cookies of a `Cookie` header, by name (first one wins; malformed pairs are skipped). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (!cookies.has(name)) {
      try {
        cookies.set(name, decodeURIComponent(value));
      } catch {
        // not percent-encoded as we write them: not ours
      }
    }
  }
  return cookies;
}

/** A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/ui; `Secure` over HTTPS; `maxAgeS: 0` clears it. */
export function cookie(name: string, value: string, options: { maxAgeS: number; secure: boolean }): string {
  return [
    `${name}=${encodeURIComponent(value)}`,
    'Path=/ui',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${Math.max(0, Math.floor(options.maxAgeS))}`,
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}
