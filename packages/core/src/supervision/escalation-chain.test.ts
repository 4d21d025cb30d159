import { afterEach, describe, expect, it } from 'vitest';
import { Agent, type AgentContext, type Task } from '../agents/agent.js';
import { MemoryPostOffice } from '../post-office/memory/memory-post-office.js';
import type { EscalationDecision } from '../protocol/decision.js';
import type { Escalation } from '../protocol/escalation.js';
import { createRuntime, type Runtime } from '../runtime/runtime.js';
import { VirtualTime } from '../testing/index.js';
import { escalate } from './escalate.js';
import type { SupervisorOptions, UnansweredEscalation } from './supervision.js';

// The escalation chain never stalls (issue 15), in virtual time.
const T0 = Date.UTC(2026, 0, 1, 10, 0, 0);
const live: { runtime: Runtime; vt: VirtualTime }[] = [];
afterEach(async () => {
  for (const { runtime, vt } of live.splice(0)) {
    const stopping = runtime.stop();
    await vt.advance(1);
    await stopping;
  }
});

class Crashing extends Agent {
  override onTask(_task: Task): never {
    throw new Error('payment service down');
  }
}

/** A level: records when escalations reach it; answers with a decision, a bare reply, or nothing. */
class Level extends Agent {
  readonly at: number[] = [];
  readonly seen: Escalation[] = [];
  constructor(
    private readonly now: () => number,
    private readonly answer: EscalationDecision | 'acknowledge' | undefined,
  ) {
    super();
  }
  override async onEscalation(e: Escalation, ctx: AgentContext) {
    this.seen.push(e);
    this.at.push(this.now());
    if (this.answer === 'acknowledge') {
      await ctx.reply('Acknowledged: looking into it.');
      return undefined;
    }
    return this.answer;
  }
}

async function setup(chain: (addr: (id: string) => string) => string[], levels: Record<string, Level['answer']>) {
  const vt = new VirtualTime(T0);
  const postOffice = new MemoryPostOffice({ clock: vt.scheduler });
  const runtime = createRuntime({ postOffice, scheduler: vt.scheduler, stopTimeoutMs: 1 });
  live.push({ runtime, vt });
  const addr = (id: string) => `${id}@${postOffice.domain}`;
  const spawned: Record<string, Level> = {};
  for (const [id, answer] of Object.entries(levels)) {
    spawned[id] = new Level(() => vt.now(), answer);
    await runtime.spawn(spawned[id], { id });
  }
  const requester = await runtime.spawn(new (class Requester extends Agent {})(), { id: 'requester' });
  const options: SupervisorOptions = {
    id: 'boss',
    children: [{ id: 'payments', make: () => new Crashing(), options: { maxAttempts: 2 } }],
    maxRestarts: 0,
    escalation: { chain: chain(addr), ackTimeoutMs: 1000, decisionTimeoutMs: 3000 },
  };
  const sup = await runtime.supervise(options);
  const unanswered: UnansweredEscalation[] = [];
  sup.escalations$.subscribe((e) => unanswered.push(e));
  const job = await requester.delegate(addr('payments'), { name: 'charge', description: 'order 42' });
  return { vt, levels: spawned, requester, job, unanswered };
}

describe('the escalation chain never stalls', () => {
  it('skips a level that cannot be mailed at once, logging it, and asks the next', async () => {
    const s = await setup((a) => ['not an address', a('lead')], { lead: 'skip' });
    await s.vt.advance(50);
    expect(s.levels.lead?.seen).toMatchObject([{ level: 1, type: 'Error', message: 'payment service down' }]);
    expect((s.levels.lead?.at[0] as number) - T0).toBeLessThan(1000); // not after an ack timeout
  });

  it('a reply without a decision counts as acknowledged; the next level is asked after the decision timeout', async () => {
    const s = await setup((a) => [a('desk'), a('lead')], { desk: 'acknowledge', lead: 'retry' });
    await s.vt.advance(50);
    expect(s.levels.desk?.seen).toHaveLength(1);
    await s.vt.advance(2000); // past the ack timeout: the desk acknowledged, so it still has time to decide
    expect(s.levels.lead?.seen).toHaveLength(0);
    await s.vt.advance(1500);
    expect(s.levels.lead?.seen).toMatchObject([{ level: 1 }]);
    expect((s.levels.lead?.at[0] as number) - (s.levels.desk?.at[0] as number)).toBeGreaterThanOrEqual(3000);
  });

  it('an exhausted chain answers the requester with ERROR carrying the escalation history', async () => {
    const s = await setup((a) => ['not an address', a('desk'), a('silent')], {
      desk: 'acknowledge',
      silent: undefined,
    });
    const [outcome] = await s.vt.until(s.requester.collect([s.job.taskId], { timeoutMs: 60_000 }));
    expect(outcome).toMatchObject({
      state: 'failed',
      error: {
        type: 'Escalated',
        escalation: [
          { level: 0, to: 'not an address', outcome: 'unmailable' },
          { level: 1, outcome: 'acknowledged' },
          { level: 1, outcome: 'undecided' },
          { level: 2, outcome: 'no_answer' },
        ],
      },
    });
    expect(s.unanswered).toMatchObject([{ child: 'payments', levelsTried: 3, history: { length: 4 } }]);
  });

  it('a stop decision answers the requester with ERROR carrying the escalation history', async () => {
    const s = await setup((a) => [a('silent'), a('lead')], { silent: undefined, lead: 'stop' });
    const [outcome] = await s.vt.until(s.requester.collect([s.job.taskId], { timeoutMs: 60_000 }));
    expect(outcome).toMatchObject({
      state: 'failed',
      error: {
        type: 'Escalated',
        message: expect.stringContaining('payment service down'),
        escalation: [
          { level: 0, outcome: 'no_answer' },
          { level: 1, outcome: 'decided', decision: 'stop' },
        ],
      },
    });
  });
});

describe('escalate(): the chain for an agent outside a supervisor', () => {
  it('walks the levels in the seed’s shape, with acks and timeouts, and resolves with the decision and its history', async () => {
    const vt = new VirtualTime(T0);
    const postOffice = new MemoryPostOffice({ clock: vt.scheduler });
    const runtime = createRuntime({ postOffice, scheduler: vt.scheduler, stopTimeoutMs: 1 });
    live.push({ runtime, vt });
    const addr = (id: string) => `${id}@${postOffice.domain}`;
    const silent = new Level(() => vt.now(), undefined);
    const desk = new Level(() => vt.now(), 'acknowledge');
    const lead = new Level(() => vt.now(), 'skip');
    await runtime.spawn(silent, { id: 'silent' });
    await runtime.spawn(desk, { id: 'desk' });
    await runtime.spawn(lead, { id: 'lead' });
    const worker = await runtime.spawn(new (class Worker extends Agent {})(), { id: 'worker' });
    const outcome = await vt.until(
      escalate(
        worker,
        { type: 'PaymentFailed', message: 'card declined' },
        {
          chain: [addr('silent'), 'not an address', addr('desk'), addr('lead')],
          ackTimeoutMs: 1000,
          decisionTimeoutMs: 2000,
          pollMs: 100,
          context: { order: 42 },
        },
      ),
    );
    expect(outcome).toMatchObject({
      decision: 'skip',
      decidedBy: addr('lead'),
      history: [
        { level: 0, outcome: 'no_answer' },
        { level: 1, outcome: 'unmailable' },
        { level: 2, outcome: 'acknowledged' },
        { level: 2, outcome: 'undecided' },
        { level: 3, outcome: 'decided', decision: 'skip' },
      ],
    });
    expect(silent.seen[0]).toMatchObject({
      type: 'PaymentFailed',
      level: 0,
      from: addr('worker'),
      context: { order: 42 },
    });
    expect(lead.seen[0]).toMatchObject({ level: 3, from: 'L2' });
  });

  it('rejects options that break a rule, naming the option, its value and the rule', async () => {
    const vt = new VirtualTime(T0);
    const runtime = createRuntime({
      postOffice: new MemoryPostOffice({ clock: vt.scheduler }),
      scheduler: vt.scheduler,
    });
    live.push({ runtime, vt });
    const worker = await runtime.spawn(new (class Worker extends Agent {})(), { id: 'worker' });
    expect(() => escalate(worker, { type: 'E', message: 'm' }, { chain: ['a@x.test'], ackTimeoutMs: -5 })).toThrow(
      /ackTimeoutMs = -5 \(.*>0/,
    );
  });
});
