import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, createRuntime, type Message, type Runtime } from '@mailroom/core';
import { HttpMailbox } from '@mailroom/http';
import { type BenchResult, percentile, round } from './result.js';

const LATENCY_SAMPLES = 300;
const POLLING_SAMPLES = 12;
const THROUGHPUT = 5_000;
const CONCURRENCY = 64;

/**
 * How the server keeps mail: `P3_DURABILITY=full` (the default: a SQLite file, every answered send
 * synced), `fast` (the file at `--durability fast`), or `memory` (`:memory:`, nothing on disk).
 */
const DURABILITY = process.env.P3_DURABILITY ?? 'full';

/** Starts mailroom-server in its own process (its own core) on port 0. */
async function startServer(adminKey: string, db: string): Promise<{ url: string; child: ChildProcess }> {
  const cli = fileURLToPath(import.meta.resolve('@mailroom/server/cli'));
  const child = spawn(
    process.execPath,
    [
      cli,
      '--port',
      '0',
      '--db',
      db,
      ...(DURABILITY === 'fast' ? ['--durability', 'fast'] : []),
      '--admin-key',
      adminKey,
      '--log-level',
      'info',
      '--no-request-log',
      '--hourly-limit',
      '1000000',
      '--daily-limit',
      '10000000',
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      const m = /listening on (http:\/\/[^"\s]+)/.exec(out);
      if (m) {
        // Found: from now on the server's request log is read and dropped.
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve({ url: m[1] as string, child });
      }
    };
    child.stdout?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited (${code}): ${out}`)));
  });
}

async function register(url: string, adminKey: string, id: string): Promise<string> {
  const res = await fetch(`${url}/agents/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-admin-key': adminKey },
    body: JSON.stringify({ agent_id: id }),
  });
  return ((await res.json()) as { api_key: string }).api_key;
}

type Receiver = { runtime: Runtime; next(): Promise<number> };

/** A runtime with one agent on HttpMailbox that reports when each message reaches its handler. */
async function receiver(url: string, key: string, longPoll: boolean, pollMs?: number): Promise<Receiver> {
  const waiting: ((at: number) => void)[] = [];
  const arrived: number[] = [];
  class Sink extends Agent {
    override onMessage(_m: Message) {
      const at = performance.now();
      const w = waiting.shift();
      if (w) w(at);
      else arrived.push(at);
    }
  }
  const runtime = createRuntime({ mailboxFactory: () => HttpMailbox.connect({ baseUrl: url, apiKey: key, longPoll }) });
  await runtime.spawn(new Sink(), {
    id: 'sink',
    inbox: {
      limit: 100,
      ...(pollMs ? { minBackoffMs: pollMs, maxBackoffMs: pollMs } : {}),
      longPollSeconds: longPoll ? 20 : 0,
    },
  });
  return {
    runtime,
    next: () => {
      const at = arrived.shift();
      return at !== undefined ? Promise.resolve(at) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

/** One message at a time: from just before the send to the receiving handler. */
async function latencies(
  sender: HttpMailbox,
  to: string,
  rx: Receiver,
  samples: number,
  spacingMs: number,
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    if (spacingMs) await new Promise((r) => setTimeout(r, Math.random() * spacingMs));
    const t0 = performance.now();
    await sender.send({ to: [to], subject: `ping ${i}` });
    out.push((await rx.next()) - t0);
  }
  return out.sort((a, b) => a - b);
}

export async function p3(): Promise<BenchResult> {
  const adminKey = randomBytes(8).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-p3-'));
  const { url, child } = await startServer(adminKey, DURABILITY === 'memory' ? ':memory:' : join(dir, 'mail.db'));
  try {
    const senderKey = await register(url, adminKey, 'sender');
    const sinkKey = await register(url, adminKey, 'sink');
    const sender = await HttpMailbox.connect({ baseUrl: url, apiKey: senderKey });
    const to = (await HttpMailbox.connect({ baseUrl: url, apiKey: sinkKey })).address;

    // Long poll.
    const rx = await receiver(url, sinkKey, true);
    await latencies(sender, to, rx, 20, 0); // warm-up
    const lp = await latencies(sender, to, rx, LATENCY_SAMPLES, 2);

    // Sustained throughput: CONCURRENCY senders in flight, until the last message is handled.
    const t0 = performance.now();
    let sent = 0;
    const lanes = Array.from({ length: CONCURRENCY }, async () => {
      while (sent < THROUGHPUT) {
        sent += 1;
        await sender.send({ to: [to], subject: 'bulk' });
      }
    });
    const handled = (async () => {
      for (let i = 0; i < THROUGHPUT; i++) await rx.next();
    })();
    await Promise.all([...lanes, handled]);
    const msgsPerSec = THROUGHPUT / ((performance.now() - t0) / 1000);
    await rx.runtime.stop();

    // Plain polling every second (no long poll), the way a client without the extension works.
    const plain = await receiver(url, sinkKey, false, 1000);
    const polled = await latencies(sender, to, plain, POLLING_SAMPLES, 1000);
    await plain.runtime.stop();

    return {
      id: 'P3',
      name: `HttpMailbox ↔ mailroom-server on loopback: send → handler latency with long poll (durability ${DURABILITY})`,
      value: round(percentile(lp, 50)),
      unit: 'ms (p50)',
      p99: round(percentile(lp, 99)),
      pollingP50: round(percentile(polled, 50)),
      msgsPerSec: Math.round(msgsPerSec),
      samples: lp.length,
      target: 'p50 ≤ 5 ms with long poll; ≥ 5000 messages/s',
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}
