import { Agent, createRouter, createRuntime, MemoryPostOffice } from '@mailroom/core';
import { type BenchResult, percentile, round } from './result.js';

const AGENTS = 1000;
const ROUNDS = 5;

/** Scatter-gather to 1000 embedded agents: round trip until the first answer. */
export async function p6(): Promise<BenchResult> {
  const postOffice = new MemoryPostOffice();
  const runtime = createRuntime({ postOffice });
  class Responder extends Agent {
    override onTask() {
      return 'here';
    }
  }
  const routees: string[] = [];
  for (let i = 0; i < AGENTS; i++)
    routees.push((await runtime.spawn(new Responder(), { id: `responder-${i}`, ack: false })).address);
  const hub = await runtime.spawn(new (class Hub extends Agent {})(), { id: 'hub', sendScheduler: true });
  const router = createRouter({ routees, strategy: 'scatter-gather', timeoutMs: 10_000 });
  const times: number[] = [];
  for (let i = 0; i < ROUNDS + 1; i++) {
    const t0 = performance.now();
    await router.route(hub, { name: `q${i}`, description: 'who is there?' });
    if (i > 0) times.push(performance.now() - t0); // round 0 warms up
  }
  await runtime.stop();
  times.sort((a, b) => a - b);
  return {
    id: 'P6',
    name: `scatter-gather to ${AGENTS} embedded agents (through the SendScheduler): round trip to the first answer`,
    value: round(percentile(times, 50)),
    unit: 'ms (median of rounds)',
    max: round(times[times.length - 1] ?? Number.NaN),
    rounds: ROUNDS,
    target: '≤ 50 ms',
  };
}
