import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OPTIONS } from '../packages/server/src/cli-config.js';
import { CLI, cleanEnv, runCli, serveCli } from './support/ops.js';
import { freshDatabase, PG_ADMIN_URL, postgresReachable } from './support/postgres.js';

// An operator's view of mailroom-server: its commands run as real processes on the store a
// running server uses, its configuration from flags and MAILROOM_* variables, its probes, its logs.

// Each test here starts Node processes one after another (a server, CLI commands: 1-3 s each on a
// loaded 2-core machine; one test took 25 s of the default 30 there). The budget is a guard against
// a hang, not a claim on speed: nothing here asserts how long anything takes.
vi.setConfig({ testTimeout: 90_000 });

const dirs: string[] = [];
const tempDb = () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-ops-'));
  dirs.push(dir);
  return join(dir, 'mail.db');
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const status = async (url: string, key?: string) =>
  (await fetch(`${url}/email/account`, { headers: key ? { 'x-api-key': key } : {} })).status;

/** The whole account flow against a running server on `db`: register, again, rotate, revoke, list. */
async function accountFlow(db: string, url: string) {
  const first = await runCli(['register', 'translator', '--db', db]);
  expect(first.code).toBe(0);
  const key = first.stdout.trim();
  expect(key).toMatch(/^mr_[\w-]+$/);
  expect(first.stderr).toContain('registered translator@agents.localhost');
  expect(await status(url, key)).toBe(200);

  // Registered before: a clear answer naming the way out, exit 1, no key printed.
  const again = await runCli(['register', 'translator', '--db', db]);
  expect(again.code).toBe(1);
  expect(again.stdout).toBe('');
  expect(again.stderr).toContain('mailroom-server rotate-key translator');

  // A new key: the old one stops working at once on the running server.
  const rotated = await runCli(['rotate-key', 'translator', '--db', db]);
  expect(rotated.code).toBe(0);
  const newKey = rotated.stdout.trim();
  expect(newKey).not.toBe(key);
  expect(await status(url, key)).toBe(401);
  expect(await status(url, newKey)).toBe(200);

  // Revoked: no key opens it; rotate-key gives it one again.
  expect((await runCli(['revoke-key', 'translator', '--db', db])).code).toBe(0);
  expect(await status(url, newKey)).toBe(401);
  const listed = await runCli(['accounts', '--db', db]);
  expect(listed.code).toBe(0);
  expect(listed.stdout).toMatch(/translator\ttranslator@agents\.localhost\trevoked\t/);

  const missing = await runCli(['rotate-key', 'nobody', '--db', db]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain('no account nobody');
}

describe('account commands, run as processes on the store a running server uses', () => {
  it('SQLite: register prints a key; again points to rotate-key; rotate and revoke take effect at once', async () => {
    const db = tempDb();
    const server = await serveCli(['--port', '0', '--db', db, '--admin-key', 'k']);
    try {
      await accountFlow(db, server.url);
    } finally {
      await server.stop();
    }
  });

  it('the admin API lists accounts and rotates and revokes keys (X-Admin-Key); off without an admin key', async () => {
    const db = tempDb();
    const server = await serveCli(['--port', '0', '--db', db], { MAILROOM_ADMIN_KEY: 'admin-k' });
    try {
      const key = (await runCli(['register', 'worker', '--db', db])).stdout.trim();
      const admin = (path: string, method = 'POST', adminKey = 'admin-k') =>
        fetch(`${server.url}${path}`, { method, headers: { 'x-admin-key': adminKey } });
      const list = (await (await admin('/admin/accounts', 'GET')).json()) as {
        accounts: { agent_id: string; key_status: string }[];
      };
      expect(list.accounts).toEqual([expect.objectContaining({ agent_id: 'worker', key_status: 'active' })]);
      expect((await admin('/admin/accounts', 'GET', 'wrong')).status).toBe(401);
      const rotated = (await (await admin('/admin/accounts/worker/rotate-key')).json()) as { api_key: string };
      expect(await status(server.url, key)).toBe(401);
      expect(await status(server.url, rotated.api_key)).toBe(200);
      expect((await admin('/admin/accounts/worker/revoke-key')).status).toBe(200);
      expect(await status(server.url, rotated.api_key)).toBe(401);
      expect((await admin('/admin/accounts/ghost/revoke-key')).status).toBe(404);
    } finally {
      await server.stop();
    }
    const open = await serveCli(['--port', '0', '--db', db]);
    try {
      const res = await fetch(`${open.url}/admin/accounts`, { headers: { 'x-admin-key': 'anything' } });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { detail: string }).detail).toContain('start the server with an admin key');
    } finally {
      await open.stop();
    }
  });
});

const pg = await postgresReachable();
describe.skipIf(!pg)(`on PostgreSQL (${PG_ADMIN_URL})`, () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => {
    database = await freshDatabase();
  });
  afterAll(() => database.drop());

  it('the same commands work on a PostgreSQL store, and every replica sees a rotation at once', async () => {
    const a = await serveCli(['--port', '0', '--db', database.url, '--admin-key', 'k']);
    const b = await serveCli(['--port', '0'], { MAILROOM_DB: database.url, MAILROOM_ADMIN_KEY: 'k' });
    try {
      await accountFlow(database.url, a.url);
      const key = (await runCli(['rotate-key', 'translator', '--db', database.url])).stdout.trim();
      expect(await status(a.url, key)).toBe(200);
      expect(await status(b.url, key)).toBe(200);
      const next = (await runCli(['rotate-key', 'translator'], { MAILROOM_DB: database.url })).stdout.trim();
      expect(await status(a.url, key)).toBe(401);
      expect(await status(b.url, key)).toBe(401);
      expect(await status(b.url, next)).toBe(200);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('/ready answers 503 once the database is gone, while /health still answers 200', async () => {
    const gone = await freshDatabase();
    const server = await serveCli(['--port', '0', '--db', gone.url, '--admin-key', 'k']);
    try {
      expect((await fetch(`${server.url}/ready`)).status).toBe(200);
      await gone.drop();
      const ready = await fetch(`${server.url}/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'unready', detail: expect.stringContaining('database') });
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});

describe('configuration from MAILROOM_* variables', () => {
  it('every option is in --help and in the README table, with its variable', async () => {
    const help = (await runCli(['--help'])).stdout;
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('### Configuration: flags and `MAILROOM_*` variables'));
    for (const o of OPTIONS) {
      expect(help).toContain(`--${o.flag}`);
      expect(help).toContain(o.env);
      expect(table).toMatch(new RegExp(`\\| \`--${o.flag}( [^\`]*)?\`\\s*\\|\\s+\`${o.env}\``));
    }
  });

  it('serves with its settings from variables alone; a flag wins over its variable', async () => {
    const db = tempDb();
    const env = {
      MAILROOM_PORT: '0',
      MAILROOM_DB: db,
      MAILROOM_DOMAIN: 'ops.example',
      MAILROOM_ADMIN_KEY: 'env-admin',
      MAILROOM_HOURLY_LIMIT: '7',
      MAILROOM_NO_REQUEST_LOG: 'true',
      MAILROOM_LOG_LEVEL: 'info',
    };
    const server = await serveCli(['--daily-limit', '9'], { ...env, MAILROOM_DAILY_LIMIT: '500' });
    try {
      const reg = await fetch(`${server.url}/agents/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-admin-key': 'env-admin' },
        body: JSON.stringify({ agent_id: 'configured' }),
      });
      expect(reg.status).toBe(201);
      const { api_key, email_address } = (await reg.json()) as { api_key: string; email_address: string };
      expect(email_address).toBe('configured@ops.example');
      const account = (await (
        await fetch(`${server.url}/email/account`, { headers: { 'x-api-key': api_key } })
      ).json()) as {
        rate_limits: { hourly: { limit: number }; daily: { limit: number } };
      };
      expect(account.rate_limits.hourly.limit).toBe(7);
      expect(account.rate_limits.daily.limit).toBe(9); // the flag, not MAILROOM_DAILY_LIMIT
      expect(server.log()).not.toContain('incoming request'); // MAILROOM_NO_REQUEST_LOG
      expect(server.log()).not.toContain('registration is open');
    } finally {
      await server.stop();
    }
  });

  it('a bad value is one line naming the variable (or the flag), exit code 2', async () => {
    const cases: [Record<string, string>, string[], RegExp][] = [
      [
        { MAILROOM_PORT: 'eighty' },
        [],
        /^mailroom-server: MAILROOM_PORT must be a whole number from 0 to 65535 \(got "eighty"\)/,
      ],
      [{ MAILROOM_DURABILITY: 'sometimes' }, [], /MAILROOM_DURABILITY must be full or fast \(got "sometimes"\)/],
      [{ MAILROOM_NO_REQUEST_LOG: 'maybe' }, [], /MAILROOM_NO_REQUEST_LOG must be true or false/],
      [{ MAILROOM_PUBLIC_URL: 'example.com' }, [], /MAILROOM_PUBLIC_URL must be an http:\/\/ or https:\/\/ URL/],
      [{ MAILROOM_BUSY_TIMEOUT: '-1' }, ['register', 'x-1'], /MAILROOM_BUSY_TIMEOUT must be a whole number/],
      [{}, ['--log-level', 'loud'], /--log-level must be one of fatal, error, warn, info, debug, trace, silent/],
      [{ MAILROOM_DOMAIN: 'Not A Domain' }, ['--db', ':memory:'], /MAILROOM_DOMAIN: .*domain/],
    ];
    for (const [env, args, message] of cases) {
      const r = await runCli(args, env);
      expect({ code: r.code, lines: r.stderr.trim().split('\n').length }).toEqual({ code: 2, lines: 1 });
      expect(r.stderr).toMatch(message);
    }
  });

  it('warns at start when registration is open (no admin key)', async () => {
    const server = await serveCli(['--port', '0', '--db', ':memory:']);
    try {
      const warning = server
        .log()
        .split('\n')
        .find((l) => l.includes('registration is open'));
      expect(JSON.parse(warning ?? '{}')).toMatchObject({ level: 40 });
    } finally {
      await server.stop();
    }
  });
});

describe('logs for people', () => {
  it('JSON lines when stdout is not a terminal; pretty with --log-format pretty', async () => {
    const json = await serveCli(['--port', '0', '--db', ':memory:', '--admin-key', 'k']);
    // A browser opening the dashboard gets the sign-in page.
    const dashboard = await fetch(`${json.url}/ui`);
    expect(dashboard.url).toBe(`${json.url}/ui/sign-in`);
    expect(await dashboard.text()).toContain('Sign in');
    await json.stop(); // every line written by then
    const lines = json
      .log()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(lines.find((l) => /^listening on/.test(l.msg))).toMatchObject({
      level: 30,
      msg: `listening on ${json.url}`,
    });
    // The next line names the dashboard's URL.
    expect(lines.find((l) => /^dashboard at/.test(l.msg))).toMatchObject({ level: 30, dashboard: `${json.url}/ui` });

    const pretty = await serveCli(['--port', '0', '--db', ':memory:', '--admin-key', 'k'], {
      MAILROOM_LOG_FORMAT: 'pretty',
    });
    await pretty.stop();
    const line =
      pretty
        .log()
        .split('\n')
        .find((l) => l.includes('listening on')) ?? '';
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(() => JSON.parse(line)).toThrow();
  });

  it('pretty on a terminal without being asked (run under script(1), a pseudo-terminal)', async () => {
    const db = tempDb();
    // Serve under a pseudo-terminal, and stop it once it listens.
    const p = spawn(
      'script',
      ['-qec', `"${process.execPath}" "${CLI}" --port 0 --db "${db}" --admin-key k`, '/dev/null'],
      {
        env: cleanEnv(),
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      },
    );
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        p.stdout.on('data', () => {
          if (/listening on/.test(out)) resolve();
        });
        void exited.then(() => reject(new Error(`script exited: ${out}`)));
      });
    } finally {
      if (p.pid) process.kill(-p.pid, 'SIGTERM');
      await exited;
    }
    const plain = out.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
    expect(plain).toMatch(/\[\d\d:\d\d:\d\d\.\d{3}\] INFO: listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(out).toContain('\u001b['); // colours, on a terminal
  });

  it('at --log-level debug the server says why an agent gets nothing (never a key or a body)', async () => {
    const db = tempDb();
    const server = await serveCli(['--port', '0', '--db', db, '--admin-key', 'k', '--log-level', 'debug']);
    try {
      const register = async (id: string) => (await runCli(['register', id, '--db', db])).stdout.trim();
      const sender = await register('sender');
      const worker = await register('worker');
      const headers = (key: string) => ({ 'content-type': 'application/json', 'x-api-key': key });
      // Mail to an address of another domain: refused, and the log says why.
      await fetch(`${server.url}/email/send`, {
        method: 'POST',
        headers: headers(sender),
        body: JSON.stringify({ to: ['worker@elsewhere.example'], subject: 'lost', body_text: 'secret body' }),
      });
      // The worker polls with a stale key.
      await fetch(`${server.url}/email/inbox?unread_only=true`, { headers: { 'x-api-key': 'mr_stale' } });
      // Mail that arrives, then an inbox that finds nothing new.
      await fetch(`${server.url}/email/send`, {
        method: 'POST',
        headers: headers(sender),
        body: JSON.stringify({ to: ['worker@agents.localhost'], subject: 'found', body_text: 'secret body' }),
      });
      await fetch(`${server.url}/email/inbox?unread_only=true&from_address=nobody@agents.localhost`, {
        headers: { 'x-api-key': worker },
      });
      // The server writes a request's log lines from its own process: they may reach our pipe
      // just after the answer does.
      await server.logged(/inbox answered: nothing matched/);
      const lines = server
        .log()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; [k: string]: unknown });
      const msgs = lines.map((l) => l.msg);
      expect(msgs).toContainEqual(expect.stringMatching(/^answered 422: to: worker@elsewhere\.example is outside/));
      expect(msgs).toContain('answered 401: unknown API key');
      expect(lines).toContainEqual(
        expect.objectContaining({
          msg: 'mail accepted',
          from: 'sender@agents.localhost',
          to: ['worker@agents.localhost'],
        }),
      );
      expect(lines).toContainEqual(
        expect.objectContaining({
          msg: 'inbox answered: nothing matched',
          address: 'worker@agents.localhost',
          unread_count: 1,
        }),
      );
      const all = server.log();
      for (const secret of [sender, worker, 'secret body', 'mr_stale']) expect(all).not.toContain(secret);
    } finally {
      await server.stop();
    }
  });
});
