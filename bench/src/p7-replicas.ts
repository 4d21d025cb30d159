import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HttpMailbox } from '@mailroom/http';
import pg from 'pg';
import { type BenchResult, percentile, round } from './result.js';

// P7: mailroom-server replicas on one PostgreSQL database. 2 load generators keep tasks in flight
// to a worker pool of 2 processes on one address; 1 replica, then 3 (agents spread over them).
const PG_URL = process.env.MAILROOM_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TASKS_PER_BOSS = Number(process.env.P7_TASKS ?? 300);
const IN_FLIGHT = 16;
const ROUNDS = Number(process.env.P7_ROUNDS ?? 3);
const WAKE_SAMPLES = 60;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function start(args: string[], file: string, until: RegExp): Promise<{ child: ChildProcess; match: string }> {
  const child = spawn(process.execPath, [file, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      const m = until.exec(out);
      if (m) {
        child.stdout?.off('data', onData);
        resolve({ child, match: m[1] ?? m[0] });
      }
    };
    child.stdout?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${file} exited (${code}): ${out}`)));
  });
}

const cli = () => fileURLToPath(import.meta.resolve('@mailroom/server/cli'));
const agentFile = fileURLToPath(new URL('./p7-agent.js', import.meta.url));

async function register(url: string, id: string): Promise<{ api_key: string; email_address: string }> {
  const res = await fetch(`${url}/agents/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-admin-key': 'k' },
    body: JSON.stringify({ agent_id: id }),
  });
  return (await res.json()) as { api_key: string; email_address: string };
}

type Run = {
  tasksPerSec: number;
  p50: number;
  p99: number;
  wakeSameP50: number;
  wakeAcrossP50: number;
  /** Share of the machine's CPU time (all cores) that was busy during the run. */
  machineBusy: number;
  /** CPU seconds per 1000 tasks: mailroom-server replicas, agent processes, PostgreSQL. */
  cpu: { servers: number; agents: number; postgres: number };
};

/** CPU time (s) of a process, from /proc (Linux); 0 when it is gone. */
function cpuOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}
/** Pids of the PostgreSQL server's processes (postmaster and backends). */
function postgresPids(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim().startsWith('postgres')) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
/** Busy and total jiffies of the whole machine. */
function machineTicks(): { busy: number; total: number } {
  const cpu = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: total - (cpu[3] ?? 0) - (cpu[4] ?? 0), total };
}

/** One run on a fresh database: `replicas` servers, 2 bosses and 2 pool workers spread over them. */
async function run(replicas: number): Promise<Run> {
  const name = `mailroom_bench_${randomBytes(5).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const db = new URL(PG_URL);
  db.pathname = `/${name}`;
  const children: ChildProcess[] = [];
  try {
    const urls: string[] = [];
    for (let i = 0; i < replicas; i++) {
      const flags = [
        '--port',
        '0',
        '--db',
        db.toString(),
        '--admin-key',
        'k',
        ...(process.env.P7_LOG ? [] : ['--no-request-log']),
      ];
      const s = await start(
        [...flags, '--hourly-limit', '1000000', '--daily-limit', '10000000'],
        cli(),
        /listening on (http:\/\/[^"\s]+)/,
      );
      if (process.env.P7_LOG) s.child.stdout?.on('data', (d) => appendFileSync(process.env.P7_LOG as string, d));
      else s.child.stdout?.resume();
      children.push(s.child);
      urls.push(s.match);
    }
    const at = (i: number) => urls[i % urls.length] as string;
    const pool = await register(at(0), 'pool');
    const bosses = [await register(at(0), 'boss-a'), await register(at(1), 'boss-b')];
    const wake = await wakeLatencies(at(0), at(1), bosses[0]!, bosses[1]!);
    for (const i of [2, 3]) {
      const w = await start(['worker', at(i), pool.api_key], agentFile, /ready/);
      children.push(w.child);
    }
    const running = await Promise.all(
      bosses.map(async (b, i) => {
        const args = ['boss', at(i), b.api_key, pool.email_address, String(TASKS_PER_BOSS), String(IN_FLIGHT), `b${i}`];
        const p = await start(args, agentFile, /ready\n/);
        children.push(p.child);
        return p.child;
      }),
    );
    const servers = children.slice(0, replicas).map((c) => c.pid as number);
    const agents = children.slice(replicas).map((c) => c.pid as number);
    const sum = (pids: number[]) => pids.reduce((a, pid) => a + cpuOf(pid), 0);
    const before = {
      servers: sum(servers),
      agents: sum(agents),
      postgres: sum(postgresPids()),
      machine: machineTicks(),
    };
    const t0 = performance.now();
    const outcomes = await Promise.all(
      running.map(
        (child) =>
          new Promise<{ rtts: number[] }>((resolve) => {
            let out = '';
            child.stdout?.on('data', (d) => {
              out += d;
              const line = out.split('\n').find((l) => l.startsWith('{'));
              if (line) resolve(JSON.parse(line) as { rtts: number[] });
            });
            child.stdin?.write('go\n');
          }),
      ),
    );
    const seconds = (performance.now() - t0) / 1000;
    const after = {
      servers: sum(servers),
      agents: sum(agents),
      postgres: sum(postgresPids()),
      machine: machineTicks(),
    };
    const per1000 = (x: number) => (x * 1000) / (2 * TASKS_PER_BOSS);
    const rtts = outcomes.flatMap((o) => o.rtts).sort((a, b) => a - b);
    return {
      tasksPerSec: (2 * TASKS_PER_BOSS) / seconds,
      p50: percentile(rtts, 50),
      p99: percentile(rtts, 99),
      wakeSameP50: wake.same,
      wakeAcrossP50: wake.across,
      machineBusy: (after.machine.busy - before.machine.busy) / (after.machine.total - before.machine.total),
      cpu: {
        servers: per1000(after.servers - before.servers),
        agents: per1000(after.agents - before.agents),
        postgres: per1000(after.postgres - before.postgres),
      },
    };
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

/** p50 of send → held long poll answered: poll and send on one replica, then on two. */
async function wakeLatencies(
  urlA: string,
  urlB: string,
  a: { api_key: string; email_address: string },
  b: { api_key: string; email_address: string },
): Promise<{ same: number; across: number }> {
  const rxOnA = await HttpMailbox.connect({ baseUrl: urlA, apiKey: b.api_key });
  const measure = async (txUrl: string) => {
    const tx = await HttpMailbox.connect({ baseUrl: txUrl, apiKey: a.api_key });
    const out: number[] = [];
    for (let i = 0; i < WAKE_SAMPLES; i++) {
      const page = await rxOnA.inbox({ unread_only: true, limit: 1 });
      const held = rxOnA.inbox({ unread_only: true, wait: 10, ...(page.cursor ? { cursor: page.cursor } : {}) });
      // The poll is held on the server before the send leaves (a held request answers no sooner).
      await new Promise((r) => setTimeout(r, 5));
      const t0 = performance.now();
      await tx.send({ to: [b.email_address], subject: `wake ${i}` });
      const got = await held;
      out.push(performance.now() - t0);
      await rxOnA.markRead(got.messages.map((m) => m.message_id));
    }
    return percentile(
      out.sort((x, y) => x - y),
      50,
    );
  };
  return { same: await measure(urlA), across: await measure(urlB) };
}

const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
const spread = (xs: number[]) => ({
  median: round(median(xs), 1),
  min: round(Math.min(...xs), 1),
  max: round(Math.max(...xs), 1),
});

export async function p7(): Promise<BenchResult> {
  const one: Run[] = [];
  const three: Run[] = [];
  // Interleaved, so that both see the same machine state.
  for (let r = 0; r < ROUNDS; r++) {
    one.push(await run(1));
    three.push(await run(3));
  }
  const pick = (runs: Run[], k: Exclude<keyof Run, 'cpu'>) => spread(runs.map((x) => x[k]));
  const cpu = (runs: Run[]) => ({
    servers: spread(runs.map((x) => x.cpu.servers)),
    agents: spread(runs.map((x) => x.cpu.agents)),
    postgres: spread(runs.map((x) => x.cpu.postgres)),
  });
  const t1 = pick(one, 'tasksPerSec');
  const t3 = pick(three, 'tasksPerSec');
  return {
    id: 'P7',
    name: 'mailroom-server replicas on PostgreSQL: 2 load generators → a worker pool of 2 on one address',
    value: t3.median,
    unit: 'tasks/s (3 replicas, median)',
    baseline: { name: '1 replica, same run', value: t1.median },
    ratio: round(t3.median / t1.median, 2),
    oneReplica: {
      tasksPerSec: t1,
      p50RoundTripMs: pick(one, 'p50'),
      p99RoundTripMs: pick(one, 'p99'),
      machineCpuBusy: pick(one, 'machineBusy'),
      cpuSecondsPer1000Tasks: cpu(one),
    },
    threeReplicas: {
      tasksPerSec: t3,
      p50RoundTripMs: pick(three, 'p50'),
      p99RoundTripMs: pick(three, 'p99'),
      machineCpuBusy: pick(three, 'machineBusy'),
      cpuSecondsPer1000Tasks: cpu(three),
    },
    longPollWakeP50Ms: { sameReplica: pick(three, 'wakeSameP50'), acrossReplicas: pick(three, 'wakeAcrossP50') },
    rounds: ROUNDS,
    tasks: 2 * TASKS_PER_BOSS,
    inFlight: 2 * IN_FLIGHT,
    target: '3 replicas ≥ 80 % of 1 replica’s tasks/s; a wake across replicas ≤ 2× one on the same replica',
  };
}
