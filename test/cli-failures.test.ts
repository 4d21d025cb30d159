import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, serveCli } from './support/ops.js';

// What an operator sees when mailroom-server cannot do what it is asked: one line, no stack.

const dir = mkdtempSync(join(tmpdir(), 'mailroom-cli-fail-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One line on stderr, no stack, no JSON log line. */
function oneLine(r: { stderr: string; stdout: string }) {
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(/^mailroom-server: /);
  expect(`${r.stdout}${r.stderr}`).not.toMatch(/\n\s+at |"level":/);
}

describe('account commands on a database that is not there', () => {
  it('refuse, naming the path, and create nothing', async () => {
    const missing = join(dir, 'typo.db');
    for (const args of [['register', 'someone'], ['rotate-key', 'someone'], ['revoke-key', 'someone'], ['accounts']]) {
      const r = await runCli([...args, '--db', missing]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`no database at ${missing}`);
      oneLine(r);
    }
    expect(existsSync(missing)).toBe(false);
    const memory = await runCli(['register', 'someone', '--db', ':memory:']);
    expect(memory.code).toBe(2);
    expect(memory.stderr).toContain(':memory: would be a new, empty one');
  });

  it('name the database they worked on', async () => {
    const db = join(dir, 'real.db');
    const server = await serveCli(['--port', '0', '--db', db]);
    try {
      const registered = await runCli(['register', 'someone', '--db', db]);
      expect(registered.code).toBe(0);
      expect(registered.stderr).toContain(`registered someone@agents.localhost in ${db}`);
      const listed = await runCli(['accounts', '--db', db]);
      expect(listed.stderr).toContain(`1 account in ${db}`);
    } finally {
      await server.stop();
    }
  });
});

describe('start-up failures', () => {
  it('a file that is not SQLite: one line for serve and for accounts', async () => {
    const bad = join(dir, 'not-sqlite.db');
    writeFileSync(bad, 'this is no database, just text that is long enough to have a header page\n'.repeat(20));
    for (const args of [['--port', '0'], ['accounts']]) {
      const r = await runCli([...args, '--db', bad, '--log-format', 'json']);
      expect(r.code).toBe(1);
      const last = r.stderr.trim().split('\n').at(-1) ?? '';
      expect(last).toBe(`mailroom-server: could not open the database ${bad}: file is not a database (SQLITE_NOTADB)`);
      expect(`${r.stdout}${r.stderr}`).not.toMatch(/\n\s+at /);
      expect(r.stdout).not.toContain('"level":50');
    }
  });

  it('a port in use and PostgreSQL unreachable: one line each', async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const address = holder.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const taken = await runCli(['--port', String(port), '--db', join(dir, 'p.db'), '--admin-key', 'k']);
      expect(taken.code).toBe(1);
      expect(taken.stderr.trim()).toBe(
        `mailroom-server: port ${port} on 127.0.0.1 is in use (another mailroom-server?): pick another --port`,
      );
      expect(taken.stdout).not.toMatch(/"level":50|\n\s+at /);
    } finally {
      await new Promise<void>((r) => holder.close(() => r()));
    }
    // The port was let go just now: nothing listens on it.
    const pg = await runCli(['accounts', '--db', `postgres://mailroom:secret@127.0.0.1:${port}/x`]);
    expect(pg.code).toBe(1);
    expect(pg.stderr).toContain(`could not open the database postgres://mailroom:***@127.0.0.1:${port}/x`);
    expect(pg.stderr).toContain('ECONNREFUSED');
    expect(pg.stderr).not.toContain('secret');
    oneLine(pg);
  });

  it('an unknown flag, a flag without its value: plain words; --version prints the version', async () => {
    const unknown = await runCli(['--prot', '8025']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe('mailroom-server: unknown option --prot (see --help)');
    const noValue = await runCli(['--port']);
    expect(noValue.stderr.trim()).toBe('mailroom-server: --port needs a value (see --help)');
    const version = await runCli(['--version']);
    const pkg = JSON.parse(readFileSync(new URL('../packages/server/package.json', import.meta.url), 'utf8'));
    expect({ code: version.code, out: version.stdout }).toEqual({ code: 0, out: `mailroom-server ${pkg.version}\n` });
  });

  it("says where it listens once: Fastify's own 'Server listening at' is left out", async () => {
    const server = await serveCli(['--port', '0', '--db', ':memory:', '--admin-key', 'k']);
    await server.stop();
    expect(server.log()).toContain(`listening on ${server.url}`);
    expect(server.log()).not.toContain('Server listening at');
  });
});
