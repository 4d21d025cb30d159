import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A `mailroom-server` process (the built CLI) on `db`; resolves once it listens. */
export function startReplica(
  db: string,
  port = 0,
  extra: string[] = [],
): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        join(root, 'packages/server/dist/cli.js'),
        '--port',
        String(port),
        '--db',
        db,
        '--admin-key',
        'k',
        '--no-request-log',
        ...extra,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/[^"\s]+)/.exec(out);
      if (m) resolve({ child, url: m[1] as string });
    });
    child.on('exit', (code, signal) => reject(new Error(`replica exited early (${code ?? signal}): ${out}`)));
  });
}

/** An agent process of test/fixtures/pool-agent.mjs; resolves once it is ready. */
export function startAgent(args: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'test/fixtures/pool-agent.mjs'), ...args], {
      cwd: join(root, 'packages/http'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout?.on('data', (d) => {
      if (String(d).includes('ready')) resolve(child);
    });
    child.on('exit', (code, signal) => reject(new Error(`agent exited early (${code ?? signal})`)));
  });
}

/** Kills a process with SIGKILL and waits until it is gone. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

/** Waits for another process to get somewhere: a bounded poll of what it wrote (no ordering by sleep). */
export async function until(check: () => boolean | Promise<boolean>, limitMs = 60_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('the other processes did not get there in time');
    await delay(25);
  }
}

/** Registers an agent through a replica (admin key `k`). */
export async function registerAt(url: string, id: string): Promise<{ api_key: string; email_address: string }> {
  const res = await fetch(`${url}/agents/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-admin-key': 'k' },
    body: JSON.stringify({ agent_id: id }),
  });
  if (res.status !== 201) throw new Error(`register ${id}: ${res.status}`);
  return (await res.json()) as { api_key: string; email_address: string };
}
