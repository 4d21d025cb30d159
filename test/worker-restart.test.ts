import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuthError, ValidationError } from '@mailroom/core';
import { HttpMailbox, registeringMailboxFactory } from '@mailroom/http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cleanEnv, runCli, serveCli } from './support/ops.js';
import { tsBlocks } from './support/readme-blocks.js';
import { runTsc } from './support/tsc.js';

const root = fileURLToPath(new URL('..', import.meta.url));

// Each test here starts Node processes one after another (a server, CLI commands: 1-3 s each on a
// loaded 2-core machine; one test took 25 s of the default 30 there). The budget is a guard against
// a hang, not a claim on speed: nothing here asserts how long anything takes.
vi.setConfig({ testTimeout: 90_000 });
// Inside the repository, so that `@mailroom/*` resolves as it does for the examples.
const scratch = join(root, 'test', `.readme-worker-${process.pid}`);

/** The README's HTTP worker: the block after the `worker-restart` marker. */
function workerBlock(): string {
  const path = join(root, 'README.md');
  const lines = readFileSync(path, 'utf8').split('\n');
  const marker = lines.findIndex((l) => l.startsWith('<!-- worker-restart:'));
  const block = tsBlocks(path).find((b) => b.line > marker + 1);
  if (marker < 0 || !block?.code.includes("keyDir: './keys'"))
    throw new Error('README: no worker block with keyDir after the worker-restart marker');
  return block.code;
}

describe("the README's HTTP worker, restarted as a user would", () => {
  let server: Awaited<ReturnType<typeof serveCli>>;
  let db: string;
  let work: string;
  let script: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mailroom-worker-'));
    db = join(dir, 'mail.db');
    work = join(dir, 'worker');
    mkdirSync(work);
    server = await serveCli(['--port', '0', '--db', db], { MAILROOM_ADMIN_KEY: 'change-me' });
    mkdirSync(scratch, { recursive: true });
    writeFileSync(join(scratch, 'worker.ts'), workerBlock());
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        extends: join(root, 'tsconfig.json'),
        compilerOptions: { noEmit: false, outDir: 'out', rootDir: '.', paths: {} },
        include: ['worker.ts'],
      }),
    );
    expect(await runTsc(scratch)).toBe('');
    script = join(scratch, 'out', 'worker.js');
  });
  afterAll(async () => {
    await server.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** Starts the worker in `work`; resolves when it serves (or with its exit and output when it fails). */
  function startWorker(): Promise<{ child: ChildProcess; serving: boolean; output: string; code: number | null }> {
    const child = spawn(process.execPath, [script], {
      cwd: work,
      env: cleanEnv({ MAILROOM_URL: server.url, MAILROOM_ADMIN_KEY: 'change-me' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    return new Promise((resolve) => {
      const read = (d: Buffer) => {
        output += d;
        if (output.includes('is serving')) resolve({ child, serving: true, output, code: null });
      };
      child.stdout?.on('data', read);
      child.stderr?.on('data', read);
      child.once('exit', (code) => resolve({ child, serving: false, output, code }));
    });
  }
  const stop = (child: ChildProcess) =>
    new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    });

  /** Sends the worker a TASK as `requester` and waits for its RESULT. */
  async function roundTrip(requesterKey: string): Promise<unknown> {
    const headers = { 'content-type': 'application/json', 'x-api-key': requesterKey };
    await fetch(`${server.url}/email/send`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        to: ['translator@agents.localhost'],
        subject: 'TASK:t-restart1 — translate',
        body_text: JSON.stringify({ task_id: 't-restart1', description: 'restart after works' }),
      }),
    });
    for (let i = 0; i < 10; i++) {
      const page = (await (await fetch(`${server.url}/email/inbox?unread_only=true&wait=5`, { headers })).json()) as {
        messages: { subject: string; body_text: string; message_id: string }[];
      };
      const result = page.messages.find((m) => m.subject.startsWith('RESULT:t-restart1'));
      if (result) return JSON.parse(result.body_text);
      for (const m of page.messages) {
        await fetch(`${server.url}/email/message/${m.message_id}/read`, { method: 'POST', headers });
      }
    }
    throw new Error('no RESULT');
  }

  it('registers once, keeps its key across restarts, and says what to do when the key is lost', async () => {
    const keyFile = join(work, 'keys', 'translator.key');
    // First start: registered, the key kept in a file only its user can read.
    const first = await startWorker();
    expect(first.output).toContain('translator@agents.localhost is serving');
    expect(await stop(first.child)).toBe(0);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);

    // A restart: the same account, no 409, and it answers a task.
    const second = await startWorker();
    expect(second.serving).toBe(true);
    const requester = (await runCli(['register', 'requester', '--db', db])).stdout.trim();
    expect(await roundTrip(requester)).toEqual({ task_id: 't-restart1', result: { text: 'works after restart' } });
    expect(await stop(second.child)).toBe(0);

    // The key is lost: a clear error naming the way out, not a 409 followed by an AuthError.
    unlinkSync(keyFile);
    const lost = await startWorker();
    expect(lost.serving).toBe(false);
    expect(lost.code).not.toBe(0);
    expect(lost.output).toContain('ConflictError');
    expect(lost.output).toContain('mailroom-server rotate-key translator');
    expect(lost.output).toContain(keyFile);

    // The operator rotates the key and saves it where the worker looks: it serves again.
    const rotated = await runCli(['rotate-key', 'translator', '--db', db]);
    writeFileSync(keyFile, rotated.stdout, { mode: 0o600 });
    const back = await startWorker();
    expect(back.serving).toBe(true);
    expect(await stop(back.child)).toBe(0);

    // A key rotated behind its back: an AuthError that says the key is stale, and how to fix it.
    await runCli(['rotate-key', 'translator', '--db', db]);
    const stale = await startWorker();
    expect(stale.serving).toBe(false);
    expect(stale.output).toMatch(/AuthError: the key of translator in .*translator\.key is not accepted/);
  });

  it('registeringMailboxFactory without the admin key: an AuthError that says registration needs it', async () => {
    const factory = registeringMailboxFactory({ baseUrl: server.url });
    const error = await factory('no-admin').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as Error).message).toContain("needs the server's admin key");
  });
});

describe('HttpMailbox refuses a missing key at construction', () => {
  const base = { baseUrl: 'http://127.0.0.1:8025', address: 'a@agents.localhost' };

  it.each([
    ['undefined (an unset variable)', undefined, /HttpMailbox needs an apiKey \(got undefined\)/],
    ['empty', '', /HttpMailbox needs an apiKey \(got an empty string\)/],
    ['with a newline from a key file', 'mr_abc\n', /white space in it \(a newline read from a key file\?\)/],
  ])('%s', (_name, apiKey, message) => {
    let error: unknown;
    try {
      new HttpMailbox({ ...base, apiKey: apiKey as string });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(message);
    if (apiKey === undefined) expect((error as Error).message).toContain('mailroom-server register <id>');
  });

  it('HttpMailbox.connect refuses it before any request is made', async () => {
    let requests = 0;
    const counting: typeof fetch = async (...args) => {
      requests += 1;
      return fetch(...args);
    };
    await expect(
      HttpMailbox.connect({
        baseUrl: base.baseUrl,
        apiKey: process.env.MAILROOM_NO_SUCH_KEY as string,
        fetch: counting,
      }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(requests).toBe(0);
  });
});
