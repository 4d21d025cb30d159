import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RoundTrips } from './p3-proc.js';
import { type BenchResult, round } from './result.js';

/** Round trips measured with IN_FLIGHT at once (after a warm-up of up to 500). */
const TASKS = Number(process.env.P3_TASKS ?? 5_000);
const IN_FLIGHT = 64;
/** Round trips measured one at a time (`P3_ALONE`, to profile the sustained phase alone). */
const ALONE = Number(process.env.P3_ALONE ?? 200);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/**
 * `P3_CPU_PROF=<dir>`: the server (and the requester and worker) write a V8 CPU profile there (`node --cpu-prof`) when it stops,
 * and only the Mailroom figure at durability full (`P3_PROF_DURABILITY=fast`: fast) is measured (summarise it with
 * `node bench/dist/cpuprofile-summary.js <file>`).
 */
const CPU_PROF = process.env.P3_CPU_PROF;
/** `P3_SERVER_CLI=<path>`: another build of mailroom-server's cli.js (to measure a change against the one before). */
const SERVER_CLI = process.env.P3_SERVER_CLI;

type Durability = 'full' | 'fast';
/** The child processes' script; with P3_CPU_PROF they are profiled too (the requester's and worker's own profiles). */
const PROC_ARGS = [
  ...(CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : []),
  fileURLToPath(new URL('./p3-proc.js', import.meta.url)),
];

/** Starts a child and resolves once it printed `ready` (or `listening on <url>`: the server). */
function startChild(args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      const match = ready.exec(out);
      if (match) {
        // From now on its output is read and dropped.
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        child.off('exit', onExit);
        resolve({ child, match });
      }
    };
    const onExit = (code: number | null) => reject(new Error(`${args.join(' ')} exited (${code}): ${out}`));
    child.stdout?.on('data', onData);
    child.on('exit', onExit);
  });
}

/**
 * CPU time a process's main thread has used so far, in µs (`/proc/<pid>/schedstat`: that file is
 * the main thread's alone; undefined where there is none).
 */
function cpuUsOf(pid: number | undefined): number | undefined {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
  } catch {
    return undefined;
  }
}

/**
 * CPU time of every live thread of a process, in µs (`/proc/<pid>/task/<tid>/schedstat`): with
 * the threads of libuv's pool, V8's and libsql's (work moved off the event loop is counted here,
 * not in the main thread's figure).
 */
function cpuUsAllThreadsOf(pid: number | undefined): number | undefined {
  try {
    let us = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      us += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
    }
    return us;
  } catch {
    return undefined;
  }
}

/**
 * Runs a requester to its end; resolves with the JSON of its last line, and the CPU time per round
 * trip of each of `others` and of the requester in each phase it marked (`mark <phase> <round trips>`).
 */
function runRequester(args: string[], others: Record<string, ChildProcess>): Promise<RoundTrips> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const procs = { ...others, requester: child };
  const cpuUs: Record<string, Record<string, number>> = {};
  let phase: { name: string; n: number; at: Record<string, number | undefined> } | undefined;
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
    let nl = out.indexOf('\n');
    while (nl >= 0 && out.startsWith('mark ')) {
      const [, name = '', n = '0'] = out.slice(0, nl).split(' ');
      out = out.slice(nl + 1);
      nl = out.indexOf('\n');
      // `<name>`: its main thread (the figure P3 reported first); `<name>+threads`: all its threads.
      const at = Object.fromEntries(
        Object.entries(procs).flatMap(([k, p]) => [
          [k, cpuUsOf(p.pid)],
          [`${k}+threads`, cpuUsAllThreadsOf(p.pid)],
        ]),
      );
      if (phase) {
        const last = phase;
        cpuUs[last.name] = Object.fromEntries(
          Object.entries(at).map(([k, v]) => [k, round(((v ?? Number.NaN) - (last.at[k] ?? Number.NaN)) / last.n)]),
        );
      }
      phase = { name, n: Number(n), at };
    }
  });
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve({ ...(JSON.parse(line) as RoundTrips), cpuUs });
      else reject(new Error(`${args.join(' ')} failed (exit ${code}): ${out}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** mailroom-server (its own process) on a SQLite file at `durability`, port 0. */
async function startServer(adminKey: string, db: string, durability: Durability) {
  const cli = SERVER_CLI ?? fileURLToPath(import.meta.resolve('@mailroom/server/cli'));
  const { child, match } = await startChild(
    [
      ...(CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : []),
      cli,
      ...['--port', '0', '--db', db, '--durability', durability, '--admin-key', adminKey],
      ...['--log-level', 'info', '--no-request-log', '--hourly-limit', '1000000', '--daily-limit', '10000000'],
    ],
    /listening on (http:\/\/[^"\s]+)/,
  );
  return { child, url: match[1] as string };
}

async function register(url: string, adminKey: string, id: string) {
  const res = await fetch(`${url}/agents/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-admin-key': adminKey },
    body: JSON.stringify({ agent_id: id }),
  });
  if (res.status !== 201) throw new Error(`register ${id}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { api_key: string; email_address: string };
}

/** The round trip on Mailroom: requester process → server process → worker process → back. */
async function mailroom(durability: Durability): Promise<RoundTrips> {
  const adminKey = randomBytes(8).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-p3-'));
  const server = await startServer(adminKey, join(dir, 'mail.db'), durability);
  let worker: ChildProcess | undefined;
  try {
    const requester = await register(server.url, adminKey, 'requester');
    const work = await register(server.url, adminKey, 'worker');
    worker = (await startChild([...PROC_ARGS, 'mailroom-worker', server.url, work.api_key], /ready/)).child;
    return await runRequester(
      [
        ...PROC_ARGS,
        'mailroom-requester',
        server.url,
        requester.api_key,
        work.email_address,
        String(TASKS),
        String(IN_FLIGHT),
        String(ALONE),
      ],
      { server: server.child, worker },
    );
  } finally {
    if (worker) await stopChild(worker);
    await stopChild(server.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether a Redis server answers PING at `url`: undefined when it does, else why not. */
export function redisProblem(url: string, timeoutMs = 1000): Promise<string | undefined> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname, port: Number(u.port || 6379) });
    const done = (problem: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    };
    const timer = setTimeout(() => done(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => socket.write('PING\r\n'));
    // Any reply is Redis answering (+PONG, or -NOAUTH when it wants the password the URL gives).
    socket.once('data', () => done(undefined));
    socket.once('error', (err) => done(err.message));
  });
}

/** The same round trip on BullMQ: requester process → Redis → worker process (concurrency 64) → QueueEvents. */
async function bullmq(): Promise<RoundTrips> {
  const queue = `mailroom-p3-${randomBytes(4).toString('hex')}`;
  const { child } = await startChild([...PROC_ARGS, 'bullmq-worker', REDIS_URL, queue], /ready/);
  try {
    return await runRequester(
      [...PROC_ARGS, 'bullmq-requester', REDIS_URL, queue, String(TASKS), String(IN_FLIGHT), String(ALONE)],
      { worker: child },
    );
  } finally {
    await stopChild(child);
  }
}

export async function p3(): Promise<BenchResult> {
  if (CPU_PROF) {
    // `P3_PROF_DURABILITY=fast` profiles the server's faster setting instead.
    const durability: Durability = process.env.P3_PROF_DURABILITY === 'fast' ? 'fast' : 'full';
    const full = await mailroom(durability);
    return {
      id: 'P3',
      name: `P3 profiling run (${CPU_PROF}): Mailroom only, durability ${durability}`,
      value: full.roundTripsPerSec,
      unit: 'round trips/s',
      ...full,
    };
  }
  const full = await mailroom('full');
  const problem = await redisProblem(REDIS_URL);
  if (problem)
    process.stderr.write(`P3: no Redis answers at ${REDIS_URL} (${problem}): no BullMQ baseline, no ratio\n`);
  const bull = problem ? undefined : await bullmq();
  const fast = await mailroom('fast');
  return {
    id: 'P3',
    name: `round trips requester → mailroom-server (SQLite, durability full) → worker → RESULT seen by collect, 3 processes on loopback, ${IN_FLIGHT} in flight, ${TASKS} tasks`,
    value: full.roundTripsPerSec,
    unit: 'round trips/s',
    ...(bull
      ? {
          baseline: {
            name: `BullMQ on Redis (${REDIS_URL}): add → worker concurrency ${IN_FLIGHT} → completed via QueueEvents, ${IN_FLIGHT} in flight`,
            value: bull.roundTripsPerSec,
          },
          ratio: Number((full.roundTripsPerSec / bull.roundTripsPerSec).toFixed(3)),
        }
      : { noBaseline: `no Redis answers at ${REDIS_URL}: ${problem}` }),
    aloneP50: full.aloneP50,
    aloneP99: full.aloneP99,
    cpuUsPerRoundTrip: full.cpuUs,
    fast: {
      value: fast.roundTripsPerSec,
      aloneP50: fast.aloneP50,
      aloneP99: fast.aloneP99,
      ...(bull ? { ratio: Number((fast.roundTripsPerSec / bull.roundTripsPerSec).toFixed(3)) } : {}),
    },
    ...(bull ? { bullmq: { aloneP50: bull.aloneP50, aloneP99: bull.aloneP99, cpuUsPerRoundTrip: bull.cpuUs } } : {}),
    target: 'ratio ≥ 1.0 at durability full; one message alone p50 ≤ 2 ms',
  };
}
