// Child processes of P3 (bench/src/p3-http.ts), one role each, so that the round trip crosses
// processes as it does in production:
//   node p3-proc.js mailroom-worker <server url> <api key>
//   node p3-proc.js mailroom-requester <server url> <api key> <worker address> <tasks> <in flight> <alone>
//   node p3-proc.js bullmq-worker <redis url> <queue>
//   node p3-proc.js bullmq-requester <redis url> <queue> <tasks> <in flight> <alone>
// A worker prints `ready` and runs until SIGTERM; a requester prints one JSON line (RoundTrips) and exits.
import { Agent, createRuntime } from '@mailroom/core';
import { HttpMailbox } from '@mailroom/http';
import { type ConnectionOptions, type Job, Queue, QueueEvents, Worker } from 'bullmq';
import { percentile, round } from './result.js';

/** What a requester measured: round trips per second with `inFlight` at once, and one alone. */
export type RoundTrips = {
  roundTripsPerSec: number;
  aloneP50: number;
  aloneP99: number;
  tasks: number;
  /** CPU time per round trip of each process, in µs, in each phase (read by the parent: p3-http.ts). */
  cpuUs?: Record<string, Record<string, number>>;
};

/**
 * Tells the parent that a phase starts or ends (it reads every process's CPU time then), and
 * waits a moment so that the reading falls between the phases.
 */
async function mark(name: string): Promise<void> {
  process.stdout.write(`mark ${name}\n`);
  await new Promise((resolve) => setTimeout(resolve, 50));
}

const [role, ...args] = process.argv.slice(2);
/** `P3_SEND_BATCHING=<n>`: HttpMailbox's `sendBatching` in both processes (to compare settings). */
const tuning = process.env.P3_SEND_BATCHING ? { sendBatching: Number(process.env.P3_SEND_BATCHING) } : {};

/** `inFlight` lanes each doing `roundTrip` until `n` are done; returns round trips per second. */
async function sustained(n: number, inFlight: number, roundTrip: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let i = next++; i < n; i = next++) await roundTrip(i);
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

/** `samples` round trips one after the other: p50 and p99 in ms. */
async function alone(samples: number, roundTrip: (i: number) => Promise<unknown>): Promise<[number, number]> {
  const ms: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await roundTrip(i);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return [round(percentile(ms, 50)), round(percentile(ms, 99))];
}

/** Warm-up, then one message at a time, then `tasks` with `inFlight` at once. */
async function measure(
  tasks: number,
  inFlight: number,
  samples: number,
  roundTrip: (i: number) => Promise<unknown>,
): Promise<RoundTrips> {
  await sustained(Math.min(500, tasks), inFlight, roundTrip);
  await mark(`alone ${samples}`);
  const [aloneP50, aloneP99] = await alone(samples, roundTrip);
  await mark(`sustained ${tasks}`);
  const roundTripsPerSec = Math.round(await sustained(tasks, inFlight, roundTrip));
  await mark('end 0');
  return { roundTripsPerSec, aloneP50, aloneP99, tasks };
}

function redisConnection(url: string): ConnectionOptions {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    maxRetriesPerRequest: null,
  };
}

const stopOnTerm = (stop: () => Promise<unknown>) =>
  process.once('SIGTERM', () => {
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });

if (role === 'mailroom-worker') {
  const [url, apiKey] = args as [string, string];
  const runtime = createRuntime({ mailboxFactory: () => HttpMailbox.connect({ baseUrl: url, apiKey, ...tuning }) });
  class NoOp extends Agent {
    override onTask(): unknown {
      return null;
    }
  }
  // ACK off: the worker answers RESULT only, as a BullMQ worker answers "completed" only.
  await runtime.spawn(new NoOp(), { id: 'worker', ack: false, concurrency: 64, inbox: { limit: 100 } });
  stopOnTerm(() => runtime.stop());
  process.stdout.write('ready\n');
} else if (role === 'mailroom-requester') {
  const [url, apiKey, worker, tasks, inFlight, samples] = args as [string, string, string, string, string, string];
  const runtime = createRuntime({});
  const mailbox = await HttpMailbox.connect({ baseUrl: url, apiKey, ...tuning });
  const boss = await runtime.spawn(new (class Requester extends Agent {})(), {
    mailbox,
    concurrency: 64,
    inbox: { limit: 100 },
  });
  const roundTrip = async (i: number) => {
    const { taskId } = await boss.delegate(worker, { name: 'noop', description: 'nothing', input: { n: i } });
    const [outcome] = await boss.collect([taskId], { timeoutMs: 60_000 });
    if (outcome?.state !== 'completed') throw new Error(`task ${taskId} ended ${outcome?.state}`);
  };
  const result = await measure(Number(tasks), Number(inFlight), Number(samples), roundTrip);
  await runtime.stop();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
} else if (role === 'bullmq-worker') {
  const [url, queue] = args as [string, string];
  const worker = new Worker(queue, async () => null, { connection: redisConnection(url), concurrency: 64 });
  await worker.waitUntilReady();
  stopOnTerm(() => worker.close());
  process.stdout.write('ready\n');
} else if (role === 'bullmq-requester') {
  const [url, name, tasks, inFlight, samples] = args as [string, string, string, string, string];
  const connection = redisConnection(url);
  const queue = new Queue(name, { connection });
  // The queue is new: its events are read from the first one, so none is missed before the first read.
  const events = new QueueEvents(name, { connection, lastEventId: '0-0' });
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  // One listener for every job (what `job.waitUntilFinished` does, less its extra check per job).
  const waiting = new Map<string, () => void>();
  events.on('completed', ({ jobId }) => {
    waiting.get(jobId)?.();
    waiting.delete(jobId);
  });
  events.on('failed', ({ jobId, failedReason }) => {
    throw new Error(`job ${jobId} failed: ${failedReason}`);
  });
  let seq = 0;
  const roundTrip = async (i: number) => {
    const jobId = `j${seq++}`;
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`job ${jobId}: no completed event in 60 s`)), 60_000);
      waiting.set(jobId, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const job: Job = await queue.add('noop', { n: i }, { jobId });
    if (job.id !== jobId) throw new Error(`unexpected job id ${job.id}`);
    await done;
  };
  const result = await measure(Number(tasks), Number(inFlight), Number(samples), roundTrip);
  await queue.obliterate({ force: true });
  await Promise.all([events.close(), queue.close()]);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
} else {
  process.stderr.write(`p3-proc: unknown role ${role}\n`);
  process.exit(2);
}
