import { Agent, createRuntime, MemoryPostOffice, type Message } from '@mailroom/core';
import { type BenchResult, percentile, round } from './result.js';

const RATE = 10_000;
const SECONDS = 5;

const gc = () => (globalThis as { gc?: () => void }).gc?.();

/**
 * Latencies (ms, sorted, steady state) of one run, and the heap the post office holds after it;
 * `maxMessages` bounds the office's memory.
 */
async function run(maxMessages?: number): Promise<{ steady: number[]; heapMB: number }> {
  await new Promise((resolve) => setTimeout(resolve, 50)); // the last run's runtime lets go
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const total = RATE * SECONDS;
  const postOffice = new MemoryPostOffice({
    limits: { hourly: 10 * total, daily: 10 * total },
    ...(maxMessages ? { retention: { maxMessages } } : {}),
  });
  const runtime = createRuntime({ postOffice });
  const latencies: number[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  class Sink extends Agent {
    override onMessage(message: Message) {
      latencies.push(performance.now() - Number(message.body_text));
      if (latencies.length === total) done();
    }
  }
  const sink = await runtime.spawn(new Sink(), { id: 'sink' });
  const source = await runtime.spawn(new (class Source extends Agent {})(), { id: 'source' });
  const t0 = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = async () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE));
      while (sent < due) {
        sent += 1;
        await source.send(sink.address, 'ping', String(performance.now()));
      }
      if (sent < total) setTimeout(tick, 0);
      else resolve();
    };
    void tick();
  });
  await finished;
  gc();
  const heapMB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20; // what the office holds
  await runtime.stop();
  // Leave out the first second: start-up (JIT warm-up) is not the steady state.
  return { steady: latencies.slice(RATE).sort((a, b) => a - b), heapMB };
}

/** send → handler latency at a steady offered rate on the embedded post office. */
export async function p2(): Promise<BenchResult> {
  await run(); // warm-up: the JIT, not the post office, would make the first run look slow
  const { steady, heapMB } = await run();
  const { steady: bounded, heapMB: boundedHeapMB } = await run(10_000);
  return {
    id: 'P2',
    name: `embedded latency send → handler at ${RATE} messages/s offered for ${SECONDS} s`,
    value: round(percentile(steady, 99)),
    unit: 'ms (p99)',
    p50: round(percentile(steady, 50)),
    max: round(steady[steady.length - 1] ?? Number.NaN),
    samples: steady.length,
    heapMB: round(heapMB),
    retention10k: {
      heapMB: round(boundedHeapMB),
      p99: round(percentile(bounded, 99)),
      p50: round(percentile(bounded, 50)),
      max: round(bounded[bounded.length - 1] ?? Number.NaN),
    },
    target: 'p99 ≤ 1 ms',
  };
}
