// Two processes, one mailroom-server: starts the server (unless --server URL --admin-key KEY is
// given), a worker process and a requester process, and prints what each says. A process that
// fails says why in one line (prefixed with its name), and main says which one it was.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { serverArgs } from './connect.js';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const children: ChildProcess[] = [];

/** Starts a node script; resolves with the process once a line of its output matches `ready`. */
function start(
  script: string,
  args: string[],
  name: string,
  ready: RegExp,
  quiet = false,
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let seen = '';
    const onData = (chunk: Buffer) => {
      if (!quiet) for (const line of chunk.toString().split('\n')) if (line.trim()) console.log(`[${name}] ${line}`);
      seen += chunk;
      const match = ready.exec(seen);
      if (match) resolve({ child, match });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready`)));
  });
}

const finished = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

try {
  let server = serverArgs(process.argv);
  let serverProcess: ChildProcess | undefined;
  if (!server) {
    const adminKey = randomBytes(12).toString('hex');
    const cli = fileURLToPath(import.meta.resolve('@mailroom/server/cli'));
    const started = await start(
      cli,
      ['--port', '0', '--db', ':memory:', '--admin-key', adminKey],
      'server',
      /listening on (http:\/\/[^"\s]+)/,
      true,
    );
    serverProcess = started.child;
    server = { url: started.match[1] as string, adminKey, suffix: '' };
    console.log(`[server] listening on ${server.url}`);
  }
  // On a server of yours the ids carry this run's suffix, so that a second run registers anew
  // (each run's accounts stay there); on the one started here (in memory) they are plain.
  const suffix = serverProcess ? '' : Date.now().toString(36);
  const args = ['--server', server.url, '--admin-key', server.adminKey, '--suffix', suffix];
  const worker = await start(here('./worker.js'), args, 'worker', /ready/);
  const requester = await start(here('./requester.js'), args, 'requester', /asking/);
  const code = await finished(requester.child);
  worker.child.kill('SIGTERM');
  await finished(worker.child);
  if (serverProcess) {
    serverProcess.kill('SIGTERM');
    await finished(serverProcess);
  }
  process.exitCode = code ?? 1;
} catch (err) {
  console.error(`main: ${(err as Error).message}`);
  for (const c of children) c.kill('SIGTERM');
  process.exitCode = 1;
}
