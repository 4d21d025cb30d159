import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built `mailroom-server` command. */
export const CLI = fileURLToPath(new URL('../../packages/server/dist/cli.js', import.meta.url));

/** The environment of a child process: ours without any MAILROOM_* setting, plus `env`. */
export function cleanEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MAILROOM_')));
  return { ...base, ...env };
}

/** Runs a `mailroom-server` command to its end: exit code, stdout and stderr. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: cleanEnv(env), timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `mailroom-server` serving in a process of its own, configured by `args` and `env`; resolves once it listens. */
export async function serveCli(args: string[], env: Record<string, string> = {}) {
  const p: ChildProcess = spawn(process.execPath, [CLI, ...args], {
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  p.stdout?.on('data', (d) => {
    log += d;
  });
  p.stderr?.on('data', (d) => {
    log += d;
  });
  const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
  /** The first match of `pattern` in the log: at once, or when the line comes (fails if the process exits first). */
  const logged = (pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(log);
        if (!m) return;
        p.stdout?.off('data', check);
        p.stderr?.off('data', check);
        resolve(m);
      };
      p.stdout?.on('data', check);
      p.stderr?.on('data', check);
      check();
      void exited.then(() => reject(new Error(`mailroom-server exited before it logged ${pattern}: ${log}`)));
    });
  const url = (await logged(/listening on (http:\/\/[\w.]+:\d+)/))[1] as string;
  return {
    url,
    log: () => log,
    logged,
    async stop(): Promise<number | null> {
      p.kill('SIGTERM');
      return exited;
    },
  };
}
