import { basename } from 'node:path';

/** The server the processes share, and the suffix of this run's agent ids on it. */
export type ServerArgs = { url: string; adminKey: string; suffix: string };

/** Registers an agent id on a mailroom-server (with its admin key); resolves with its API key, shown once. */
export async function register(server: { url: string; adminKey: string }, id: string): Promise<string> {
  const url = `${server.url.replace(/\/$/, '')}/agents/register`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-admin-key': server.adminKey },
    body: JSON.stringify({ agent_id: id }),
  }).catch((err: Error & { cause?: { code?: string } }) => {
    throw new Error(`could not reach ${url}: ${err.cause?.code ?? err.message}`);
  });
  if (res.status === 401) throw new Error(`${server.url} refused the admin key: pass the one it was started with`);
  if (res.status === 409) throw new Error(`${id} is registered on ${server.url} already (its key is not ours)`);
  if (res.status !== 201) throw new Error(`could not register ${id}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { api_key: string }).api_key;
}

/** An agent id of this run: on a server given with `--server`, the run's suffix keeps two runs apart. */
export const idOf = (name: string, server: { suffix: string }): string =>
  server.suffix ? `${name}-${server.suffix}` : name;

/**
 * `--server URL --admin-key KEY` (and `--suffix S`, which main.js passes its processes) from argv;
 * undefined when there is no `--server`. Any other argument, or `--server` without a key, ends the
 * process with one line (exit code 2); so does any error the process ends with (exit code 1).
 */
export function serverArgs(argv: string[]): ServerArgs | undefined {
  const name = basename(argv[1] ?? 'main.js', '.js');
  const stop = (line: string, code: number): never => {
    process.stderr.write(`${name}: ${line}\n`);
    process.exit(code);
  };
  process.on('uncaughtException', (err) => stop(err.message, 1));
  const known = ['--server', '--admin-key', '--suffix'];
  for (let i = 2; i < argv.length; i += 2) {
    const arg = argv[i] as string;
    if (!known.includes(arg)) stop(`unknown argument ${arg} (options: --server URL --admin-key KEY)`, 2);
    if (argv[i + 1] === undefined) stop(`${arg} needs a value`, 2);
  }
  const at = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const url = at('--server');
  if (!url) return undefined;
  const adminKey = at('--admin-key') ?? process.env.MAILROOM_ADMIN_KEY;
  if (!adminKey) return stop(`--server ${url} needs its admin key: --admin-key KEY (or MAILROOM_ADMIN_KEY)`, 2);
  return { url, adminKey, suffix: at('--suffix') ?? '' };
}
