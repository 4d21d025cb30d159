import { Agent, createRuntime, MemoryPostOffice } from '@mailroom/core';
import { nactRate } from './nact-baseline.js';
import { type BenchResult, round } from './result.js';

const N = 200_000;

/** Raw nact: dispatch N messages to one actor, until the last is handled. */
const nactBaseline = () => nactRate(N);

/** Mailroom: one agent sends N messages to another on the embedded post office; each handled and marked read. */
async function mailroom(maxMessages?: number): Promise<{ rate: number; unreadAfter: number }> {
  const postOffice = new MemoryPostOffice({
    limits: { hourly: 10 * N, daily: 10 * N },
    ...(maxMessages ? { retention: { maxMessages } } : {}),
  });
  const runtime = createRuntime({ postOffice });
  let handled = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  class Sink extends Agent {
    override onMessage() {
      if (++handled === N) done();
    }
  }
  const sink = await runtime.spawn(new Sink(), { id: 'sink', inbox: { limit: 100, maxInFlight: 2000 } });
  const source = await runtime.spawn(new (class Source extends Agent {})(), { id: 'source' });
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await source.send(sink.address, 'ping', '');
  await finished;
  await sink.stop(); // waits for the last acknowledgements
  const ms = performance.now() - t0;
  const unreadAfter = (await postOffice.inbox(sink.address, { unread_only: true, limit: 1 })).unread_count;
  await runtime.stop();
  return { rate: (N / ms) * 1000, unreadAfter };
}

export async function p1(): Promise<BenchResult> {
  await nactBaseline(); // warm-up
  const baseline = await nactBaseline();
  const { rate, unreadAfter } = await mailroom();
  const bounded = await mailroom(10_000);
  return {
    id: 'P1',
    name: `embedded end-to-end throughput, ${N} messages agent → agent (no-op handler, each marked read)`,
    value: Math.round(rate),
    unit: 'messages/s',
    baseline: { name: `raw nact dispatch of ${N} messages to one actor`, value: Math.round(baseline) },
    ratio: round(rate / baseline),
    target: 'ratio ≥ 0.5 (aim ≥ 1.0)',
    unreadAfter,
    retention10k: {
      value: Math.round(bounded.rate),
      ratio: round(bounded.rate / baseline),
      unreadAfter: bounded.unreadAfter,
    },
  };
}
