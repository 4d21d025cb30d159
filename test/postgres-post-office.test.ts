import type { AddressInfo } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import { NotFoundError, RateLimitedError, ValidationError } from '@mailroom/core';
import {
  leaseConformance,
  type PostOfficeFactoryOptions,
  postOfficeConformance,
  RunningClock,
} from '@mailroom/core/testing';
import { buildServer, PostgresPostOffice, pgDatabase, pgliteDatabase, type SqlDatabase } from '@mailroom/server';
import pg from 'pg';
import { pino } from 'pino';
import { firstValueFrom, Subject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, PG_ADMIN_URL, postgresReachable } from './support/postgres.js';

// The PostgreSQL post office held to the PostOffice contract: on PGlite (in process, always) and on
// a real server (when one answers; `.ci/run` makes sure one does). One schema per office.
let n = 0;
const offices: PostgresPostOffice[] = [];
afterAll(async () => {
  for (const office of offices.splice(0)) await office.close();
});

describe('on PGlite', () => {
  let database: SqlDatabase;
  beforeAll(async () => {
    database = pgliteDatabase(await PGlite.create());
  });
  afterAll(async () => {
    for (const office of offices.splice(0)) await office.close();
    await database.close();
  });
  const open = async ({ clock, limits, domain }: PostOfficeFactoryOptions) => {
    const office = await PostgresPostOffice.open({ database, schema: `po_${++n}`, clock, limits, domain });
    offices.push(office);
    return office;
  };
  postOfficeConformance('PostgresPostOffice on PGlite', open);
  leaseConformance('PostgresPostOffice on PGlite', open);
});

const server = await postgresReachable();
describe.skipIf(!server)('on the PostgreSQL server', () => {
  let database: SqlDatabase;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const fresh = await freshDatabase();
    drop = fresh.drop;
    database = pgDatabase({ connectionString: fresh.url, max: 4 });
  });
  afterAll(async () => {
    for (const office of offices.splice(0)) await office.close();
    await database.close();
    await drop();
  });
  const open = async ({ clock, limits, domain }: PostOfficeFactoryOptions) => {
    const office = await PostgresPostOffice.open({ database, schema: `po_${++n}`, clock, limits, domain });
    offices.push(office);
    return office;
  };
  postOfficeConformance('PostgresPostOffice on the PostgreSQL server', open);
  leaseConformance('PostgresPostOffice on the PostgreSQL server', open);
});

describe.skipIf(!server)('two processes on one PostgreSQL database', () => {
  it('keeps a quota exact and an idempotency key unique when both send at once, and listens again after losing its connection', async () => {
    const fresh = await freshDatabase();
    // One quota window for the whole test, whatever the wall clock (both offices read this clock).
    const clock = new RunningClock();
    // `one`'s database logs when it listens again after a loss: the reconnect is awaited by that line.
    const relistened = new Subject<void>();
    const logger = pino(
      { level: 'info' },
      {
        write(line: string) {
          if (line.includes('postgres: listening again')) relistened.next();
        },
      },
    );
    const open = (options: { logger?: typeof logger } = {}) =>
      PostgresPostOffice.open({
        database: pgDatabase({ connectionString: fresh.url, max: 8, ...options }),
        ownsDatabase: true,
        limits: { hourly: 10, daily: 100 },
        clock,
      });
    const one = await open({ logger });
    const two = await open();
    try {
      const a = (await one.register({ agent_id: 'alice' })).email_address;
      const b = (await two.register({ agent_id: 'bob' })).email_address;
      const sends = Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? one : two).send(a, { to: [b], subject: `q${i}` }).then(
          () => 'sent',
          (e: unknown) => (e as Error).name,
        ),
      );
      const outcomes = await Promise.all(sends);
      expect(outcomes.filter((o) => o === 'sent')).toHaveLength(10);
      expect(outcomes.filter((o) => o === 'RateLimitedError')).toHaveLength(30);
      expect((await two.account(a)).rate_limits.hourly.used).toBe(10);

      const c = (await one.register({ agent_id: 'carol' })).email_address;
      const same = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? one : two).send(c, { to: [b], subject: 'once', idempotency_key: 'k' }),
        ),
      );
      expect(new Set(same.map((r) => r.message_id)).size).toBe(1);
      expect((await one.sent(c)).messages).toHaveLength(1);

      // The listening connection dies (a database restart, a proxy): it is made again, and mail
      // sent through the other process wakes this one's listeners again.
      const listening = firstValueFrom(relistened);
      const admin = new pg.Client({ connectionString: fresh.url });
      await admin.connect();
      const killed = await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'",
      );
      await admin.end();
      expect(killed.rowCount).toBe(2); // both offices' listening connections
      await listening;
      const d = (await two.register({ agent_id: 'dave' })).email_address;
      const woken = firstValueFrom(one.wakeups(b));
      await two.send(d, { to: [b], subject: 'after the reconnect' });
      await woken; // only the notification through the new connection wakes `one`
    } finally {
      await one.close();
      await two.close();
      await fresh.drop();
    }
  });
});

describe.skipIf(!server)('a replica that lost its listening connection', () => {
  // Mail sent through another replica while this one cannot listen notifies nobody here. The poll
  // is held for 30 s, longer than the test may run: only a wake-up on listening again answers it.
  it('answers a long poll held across the loss once it listens again', async () => {
    const fresh = await freshDatabase();
    const name = new URL(fresh.url).pathname.slice(1);
    const refused = new Subject<void>();
    const logger = pino(
      { level: 'info' },
      {
        write(line: string) {
          if (line.includes('postgres: could not listen again')) refused.next();
        },
      },
    );
    const url = new URL(fresh.url);
    url.searchParams.set('application_name', 'replica_one');
    const one = await PostgresPostOffice.open({
      database: pgDatabase({ connectionString: url.toString(), max: 4, logger }),
      ownsDatabase: true,
    });
    const two = await PostgresPostOffice.open({
      database: pgDatabase({ connectionString: fresh.url, max: 4 }),
      ownsDatabase: true,
    });
    const app = buildServer({ postOffice: one, logRequests: false });
    // The database's connections are allowed and refused from another database.
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    const gone = new AbortController();
    const read = one.inbox.bind(one);
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const alice = (await two.register({ agent_id: 'alice' })).email_address;
      const bob = await one.register({ agent_id: 'bob' });
      let isHeld: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (isHeld = resolve));
      one.inbox = async (address, query) => {
        const page = await read(address, query);
        isHeld();
        return page;
      };
      const poll = fetch(`${base}/email/inbox?unread_only=true&wait=30`, {
        headers: { 'x-api-key': bob.api_key },
        signal: gone.signal,
      });
      await held; // read once, found nothing: waiting for a wake-up
      await admin.connect();
      await two.account(alice); // `two` keeps a connection for the send below
      // No new connection to the database: `one` cannot listen again until it is allowed.
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      const cannotListen = firstValueFrom(refused);
      const killed = await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'replica_one' AND query LIKE 'LISTEN%'",
        [name],
      );
      expect(killed.rowCount).toBe(1);
      await cannotListen;
      await two.send(alice, { to: [bob.email_address], subject: 'while not listening' });
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      const page = (await (await poll).json()) as { messages: { subject: string }[] };
      expect(page.messages.map((m) => m.subject)).toEqual(['while not listening']);
    } finally {
      one.inbox = read;
      gone.abort();
      await admin.end().catch(() => undefined);
      await app.close();
      await one.close();
      await two.close();
      await fresh.drop();
    }
  }, 20_000);
});

/** Runs `fn` with an office of its own on a fresh database of the server; closes and drops both after. */
async function withFreshOffice(
  options: Partial<Parameters<typeof PostgresPostOffice.open>[0]>,
  fn: (office: PostgresPostOffice) => Promise<void>,
): Promise<void> {
  const fresh = await freshDatabase();
  const database = pgDatabase({ connectionString: fresh.url, max: 8 });
  const office = await PostgresPostOffice.open({ ...options, database, ownsDatabase: true });
  try {
    await fn(office);
  } finally {
    await office.close();
    await fresh.drop();
  }
}

describe.skipIf(!server)('the server on PostgreSQL: batch send', () => {
  it('keeps the order of a batch: each inbox and the sent list have its mail as listed, and the quota refuses the last', async () => {
    await withFreshOffice({ clock: new RunningClock() }, async (office) => {
      const app = buildServer({ postOffice: office, logRequests: false });
      try {
        await app.listen({ host: '127.0.0.1', port: 0 });
        const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
        const a = await office.register({ agent_id: 'alice' });
        const b = await office.register({ agent_id: 'bob' });
        const c = await office.register({ agent_id: 'carol' });
        await office.setLimits(a.email_address, { hourly: 60 });
        const subjects = Array.from({ length: 61 }, (_, i) => `b${i}`);
        const res = await fetch(`${url}/email/send/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': a.api_key },
          body: JSON.stringify({
            sends: subjects.map((subject, i) => ({ to: [i % 2 ? b.email_address : c.email_address], subject })),
          }),
        });
        expect(res.status).toBe(200);
        const { results } = (await res.json()) as { results: { status: number }[] };
        // As if sent one after another: the 61st is the one over the quota of 60.
        expect(results.map((r) => r.status)).toEqual([...Array(60).fill(200), 429]);
        const sent = subjects.slice(0, 60);
        const inboxOf = async (address: string) =>
          (await office.inbox(address, { limit: 100 })).messages.map((m) => m.subject);
        expect(await inboxOf(b.email_address)).toEqual(sent.filter((_, i) => i % 2));
        expect(await inboxOf(c.email_address)).toEqual(sent.filter((_, i) => !(i % 2)));
        expect((await office.sent(a.email_address, { limit: 100 })).messages.map((m) => m.subject)).toEqual(sent);
      } finally {
        await app.close();
      }
    });
  });
});

describe.skipIf(!server)('PostgreSQL: an operator changes an account’s quotas', () => {
  it('holds the new hourly limit at once and keeps the daily one', async () => {
    await withFreshOffice({ clock: new RunningClock() }, async (office) => {
      const a = (await office.register({ agent_id: 'quota' })).email_address;
      const summary = await office.setAccountLimits('quota', { hourly: 1 });
      expect(summary.rate_limits.hourly.limit).toBe(1);
      expect(summary.rate_limits.daily.limit).toBe(100_000);
      await office.send(a, { to: [a], subject: 'one' });
      await expect(office.send(a, { to: [a], subject: 'two' })).rejects.toBeInstanceOf(RateLimitedError);
      await expect(office.setAccountLimits('nobody', { hourly: 1 })).rejects.toBeInstanceOf(NotFoundError);
    });
  });
});

describe.skipIf(!server)('PostgreSQL: sends of one sender that go out together', () => {
  it('keep their order when their bodies are large (the group is cut by size, not only by count)', async () => {
    await withFreshOffice({}, async (office) => {
      const a = (await office.register({ agent_id: 'anna' })).email_address;
      const b = (await office.register({ agent_id: 'bert' })).email_address;
      const body = 'x'.repeat(256 * 1024 - 16);
      const subjects = Array.from({ length: 40 }, (_, i) => `big ${i}`);
      await Promise.all(
        subjects.map((subject) => office.send(a, { to: [b], subject, body_text: `${subject} ${body}` })),
      );
      const page = await office.inbox(b, { limit: 100 });
      expect(page.messages.map((m) => m.subject)).toEqual(subjects);
      expect(page.messages.every((m) => m.body_text === `${m.subject} ${body}`)).toBe(true);
    });
  });

  it('fail alone when one of them carries text PostgreSQL cannot take: a lone surrogate is stored as U+FFFD, NUL is a 422', async () => {
    await withFreshOffice({}, async (office) => {
      const a = (await office.register({ agent_id: 'anna' })).email_address;
      const b = (await office.register({ agent_id: 'bert' })).email_address;
      const round = (odd: string) =>
        Promise.allSettled(
          ['first', odd, 'third'].map((body_text, i) => office.send(a, { to: [b], subject: `s${i}`, body_text })),
        );
      const surrogate = await round('x\ud800y');
      expect(surrogate.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
      const nul = await round('x\u0000y');
      expect(nul.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((nul[1] as PromiseRejectedResult).reason).toBeInstanceOf(ValidationError);
      const page = await office.inbox(b, { limit: 10 });
      expect(page.messages.map((m) => [m.subject, m.body_text])).toEqual([
        ['s0', 'first'],
        ['s1', 'x\ufffdy'],
        ['s2', 'third'],
        ['s0', 'first'],
        ['s2', 'third'],
      ]);
    });
  });

  it('never deadlock with another sender whose sends lock the same recipients in the other order', async () => {
    await withFreshOffice({}, async (office) => {
      const [a, b, c, d] = await Promise.all(
        ['anna', 'bert', 'cleo', 'dora'].map(async (id) => (await office.register({ agent_id: id })).email_address),
      );
      // anna writes to bert, then cleo, then bert…; dora to cleo, then bert…: each group of sends
      // takes both recipients, in opposite orders.
      const outcomes = await Promise.allSettled(
        Array.from({ length: 2000 }, (_, i) =>
          i % 2
            ? office.send(a as string, { to: [(i % 4 === 1 ? b : c) as string], subject: `a${i}` })
            : office.send(d as string, { to: [(i % 4 === 0 ? c : b) as string], subject: `d${i}` }),
        ),
      );
      expect(outcomes.filter((o) => o.status === 'rejected').map((o) => String(o.reason))).toEqual([]);
    });
  });
});
