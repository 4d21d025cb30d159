import { Agent, createRouter, createRuntime, MemoryPostOffice } from '@mailroom/core';
import { type BenchResult, percentile, round } from './result.js';

const AGENTS = 1000;
/** Rounds that warm the JIT up (reported apart as `coldMedian`), then rounds measured. */
const WARM_UP = 5;
const ROUNDS = 10;

/**
 * Scatter-gather to 1000 embedded agents: round trip until the first answer. Each measured round
 * starts once the last one is over (every routee answered): the latency of one call, not of a
 * call queued behind the 999 answers of the one before. Back-to-back rounds are reported apart.
 */
export async function p6(): Promise<BenchResult> {
  const postOffice = new MemoryPostOffice({ limits: { hourly: 1_000_000, daily: 10_000_000 } });
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
  let answered = 0;
  let quiet: (() => void) | undefined;
  let expected = 0;
  hub.tasks.changes$.subscribe((t) => {
    if (t.role === 'sent' && t.state === 'completed' && ++answered === expected) quiet?.();
  });
  /** One round; `settle`: then wait until every routee of it answered. */
  const roundTrip = async (i: number, settle: boolean): Promise<number> => {
    expected += AGENTS;
    const over = new Promise<void>((resolve) => {
      quiet = resolve;
    });
    const t0 = performance.now();
    await router.route(hub, { name: `q${i}`, description: 'who is there?' });
    const ms = performance.now() - t0;
    if (settle) await over;
    return ms;
  };
  const cold: number[] = [];
  const times: number[] = [];
  const backToBack: number[] = [];
  for (let i = 0; i < WARM_UP; i++) cold.push(await roundTrip(i, true));
  for (let i = 0; i < ROUNDS; i++) times.push(await roundTrip(WARM_UP + i, true));
  for (let i = 0; i < ROUNDS; i++) backToBack.push(await roundTrip(WARM_UP + ROUNDS + i, false));
  await runtime.stop();
  for (const list of [cold, times, backToBack]) list.sort((a, b) => a - b);
  return {
    id: 'P6',
    name: `scatter-gather to ${AGENTS} embedded agents (through the SendScheduler): round trip to the first answer`,
    value: round(percentile(times, 50)),
    unit: 'ms (median of rounds)',
    max: round(times[times.length - 1] ?? Number.NaN),
    rounds: ROUNDS,
    coldMedian: round(percentile(cold, 50)),
    backToBackMedian: round(percentile(backToBack, 50)),
    target: '≤ 50 ms',
  };
}
