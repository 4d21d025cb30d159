import { Agent, type AgentContext, createRuntime, defineTask, MemoryPostOffice } from '@mailroom/core';
import { z } from 'zod';
import { type BenchResult, percentile, round } from './result.js';

const WORKFLOWS = 200;
const SPECIALISTS = ['search', 'analyze', 'cite'] as const;
const HANDLER_MS = 50;
/** The concurrency of every agent in the measured run (the baseline runs with 1). */
const CONCURRENCY = 256;
/** Rounds of 200 run before measuring. */
const WARM_UP = 3;
/** Rounds measured: the value is their median. */
const ROUNDS = 5;

const Part = defineTask({ name: 'part', input: z.object({ topic: z.string() }), output: z.string() });
const Report = defineTask({ name: 'report', input: z.object({ topic: z.string() }), output: z.array(z.string()) });

/** A specialist: its handler takes 50 ms of real time, as a model call would. */
class Specialist extends Agent {
  constructor(skill: string) {
    super();
    this.handle(Part, async ({ topic }) => {
      await new Promise((resolve) => setTimeout(resolve, HANDLER_MS));
      return `${skill} of ${topic}`;
    });
  }
}

/** The orchestrator: asks the three specialists at once and merges their answers. */
class Orchestrator extends Agent {
  constructor(specialists: readonly string[]) {
    super();
    this.handle(Report, ({ topic }, ctx: AgentContext) =>
      Promise.all(specialists.map((to) => ctx.ask(to, Part, { topic }, { timeoutMs: 120_000 }))),
    );
  }
}

/** Wall time (ms) of `count` workflows started at once, every agent at `concurrency`. */
async function run(count: number, concurrency: number): Promise<number> {
  const postOffice = new MemoryPostOffice({ limits: { hourly: 1e7, daily: 1e8 } });
  const runtime = createRuntime({ postOffice });
  try {
    const specialists: string[] = [];
    for (const skill of SPECIALISTS)
      specialists.push((await runtime.spawn(new Specialist(skill), { id: `spec-${skill}`, concurrency })).address);
    const orchestrator = await runtime.spawn(new Orchestrator(specialists), { id: 'orchestrator', concurrency });
    const client = await runtime.spawn(new (class Client extends Agent {})(), { id: 'client' });
    const t0 = performance.now();
    const reports = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        client.ask(orchestrator.address, Report, { topic: `topic ${i}` }, { timeoutMs: 600_000 }),
      ),
    );
    const ms = performance.now() - t0;
    if (reports.length !== count || reports.some((r) => r.length !== SPECIALISTS.length))
      throw new Error('a workflow came back incomplete');
    return ms;
  } finally {
    await runtime.stop();
  }
}

/**
 * 200 workflows started at once on one orchestrator, each asking 3 specialists whose handlers take
 * 50 ms: wall time with concurrency, against the same with concurrency 1 in the same run.
 */
export async function p8(): Promise<BenchResult> {
  // Warm-up: a server process runs warm; the JIT, not the runtime, would make the first rounds look slow.
  for (let i = 0; i < WARM_UP; i++) await run(WORKFLOWS, CONCURRENCY);
  const one = await run(1, CONCURRENCY);
  const rounds: number[] = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await run(WORKFLOWS, CONCURRENCY));
  rounds.sort((a, b) => a - b);
  const value = percentile(rounds, 50);
  const baseline = await run(WORKFLOWS, 1);
  return {
    id: 'P8',
    name: `${WORKFLOWS} workflows at once on one orchestrator, each asking ${SPECIALISTS.length} specialists (${HANDLER_MS} ms handlers), every agent at concurrency ${CONCURRENCY}`,
    value: round(value, 1),
    unit: `ms (wall time of all 200, median of ${ROUNDS} rounds)`,
    rounds: rounds.map((r) => round(r, 1)),
    baseline: { name: `the same with concurrency 1`, value: round(baseline, 1) },
    ratio: round(baseline / value, 1),
    oneWorkflowMs: round(one, 1),
    timesOneWorkflow: round(value / one, 2),
    target: 'ratio ≥ 50 and value ≤ 4 × oneWorkflowMs',
  };
}
