import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../packages/server/dist/cli.js', import.meta.url));

/** `mailroom-server` in a process of its own on a SQLite file (admin key `k`); resolves once it listens. */
export function startServerProcess(db: string, port = 0): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [cli, '--port', String(port), '--db', db, '--admin-key', 'k', '--no-request-log'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/[^"\s]+)/.exec(out);
      if (m) resolve({ child, url: m[1] as string });
    });
    child.on('exit', (code, signal) => reject(new Error(`server exited early (${code ?? signal}): ${out}`)));
  });
}

/** Registers an agent on a server process started with admin key `k`. */
export async function registerOn(url: string, agentId: string): Promise<{ api_key: string; email_address: string }> {
  const res = await fetch(`${url}/agents/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-admin-key': 'k' },
    body: JSON.stringify({ agent_id: agentId }),
  });
  return (await res.json()) as { api_key: string; email_address: string };
}

/** Waits for another process to get somewhere: a bounded poll of what it writes (no ordering by sleep). */
export async function until(check: () => boolean | Promise<boolean>, limitMs = 30_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('the other process did not get there in time');
    await delay(20);
  }
}
