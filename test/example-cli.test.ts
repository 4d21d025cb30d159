import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from './support/server.js';

// The examples' command lines, as a newcomer types them: a second run on the same server, a
// forgotten admin key, a mistyped flag. Each ends in one line that says what to do, never a stack.

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs an example to its end: exit code, stdout and stderr (no MAILROOM_* from our environment). */
function example(name: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MAILROOM_')));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [`examples/${name}/dist/main.js`, ...args],
      { cwd: root, env, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at |Error: could not register/);

describe("the examples' command lines", () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    server = await startServer({ adminKey: 'example-key' });
  });
  afterAll(async () => {
    await server.close();
  });

  // Two runs of an example of three processes: six start-ups, 12-15 s of this test at load 9 on two
  // cores. Its budget is that of two runs (each may take 60 s, as `example` allows), not 30 s.
  it('two-processes runs twice on the same server (its ids carry the run), each time to the RESULT', async () => {
    for (const run of [1, 2]) {
      const r = await example('two-processes', ['--server', server.url, '--admin-key', 'example-key']);
      expect({ run, code: r.code, stderr: r.stderr }).toEqual({ run, code: 0, stderr: '' });
      expect(r.stdout).toMatch(
        /\[requester\] requester \d+: completed: \{"pid":\d+,"translated":"coordinate agents by mail"\}/,
      );
      expect(r.stdout).toMatch(/translator-[0-9a-z]+ → requester-[0-9a-z]+ +RESULT:t-/);
    }
  }, 120_000);

  it('two-processes with --server but no key, or a wrong key: one line each, no server of its own', async () => {
    const noKey = await example('two-processes', ['--server', server.url]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr.trim()).toBe(
      `main: --server ${server.url} needs its admin key: --admin-key KEY (or MAILROOM_ADMIN_KEY)`,
    );
    expect(noKey.stdout).not.toContain('[server]');
    const wrong = await example('two-processes', ['--server', server.url, '--admin-key', 'nope']);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toContain(`[worker] worker: ${server.url} refused the admin key`);
    expect(wrong.stderr.trim()).toBe('main: worker exited (1) before it was ready');
    noStack(wrong.stdout + wrong.stderr);
    const unknown = await example('two-processes', ['--serve', server.url]);
    expect({ code: unknown.code, stderr: unknown.stderr.trim() }).toEqual({
      code: 2,
      stderr: 'main: unknown argument --serve (options: --server URL --admin-key KEY)',
    });
  });

  it('hub-and-spoke refuses an unknown flag; on a server without --admin-key it says to pass one', async () => {
    const unknown = await example('hub-and-spoke', ['--sever', server.url]);
    expect({ code: unknown.code, stdout: unknown.stdout, stderr: unknown.stderr.trim() }).toEqual({
      code: 2,
      stdout: '',
      stderr: 'hub-and-spoke: unknown option --sever (options: --server, --admin-key)',
    });
    const noKey = await example('hub-and-spoke', ['--server', server.url]);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr.trim().split('\n')).toHaveLength(1);
    expect(noKey.stderr).toMatch(
      /^hub-and-spoke: registering \S+ on .* needs the server's admin key: pass --admin-key KEY/,
    );
    noStack(noKey.stderr);
    // An example's own flag without its value is refused the same way.
    const fanOut = await example('fan-out', ['--deadline-ms']);
    expect({ code: fanOut.code, stderr: fanOut.stderr.trim() }).toEqual({
      code: 2,
      stderr: 'fan-out: --deadline-ms needs a value (options: --server, --admin-key, --deadline-ms)',
    });
  });
});
