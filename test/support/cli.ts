import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = join(fileURLToPath(new URL('../..', import.meta.url)), 'packages/server/dist/cli.js');

/** `mailroom-server` in a process of its own on port 0, with these flags; its log is kept. */
export async function startCli(args: string[]) {
  const p = spawn(process.execPath, [cli, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  p.stderr.on('data', (d) => {
    log += d;
  });
  const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    p.stdout.on('data', (d) => {
      log += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (m) resolve(m[1] as string);
    });
    void exited.then(() => reject(new Error(`mailroom-server exited early: ${log}`)));
  });
  return {
    url,
    log: () => log,
    /** SIGTERM, and the exit code once it has exited. */
    async stop(): Promise<number | null> {
      p.kill('SIGTERM');
      return exited;
    },
  };
}
