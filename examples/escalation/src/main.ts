// Escalation: a worker fails; its supervisor restarts it once, then goes past its intensity and
// escalates by mail, level by level: L0 never answers, L1 answers "retry" after its ack timeout,
// and the retried task succeeds. On the embedded office time is virtual, so the 30 s ack timeout
// passes at once; on a server (--server URL --admin-key KEY) it is real, 5 s by default
// (--ack-timeout-ms).
import {
  Agent,
  type AgentContext,
  createRuntime,
  type Escalation,
  MemoryPostOffice,
  renderTimelineText,
  type Task,
} from '@mailroom/core';
import { VirtualTime } from '@mailroom/core/testing';
import { exampleArgs } from '@mailroom/example-support';
import { registeringMailboxFactory } from '@mailroom/http';

const args = exampleArgs(process.argv, ['ack-timeout-ms']);
const { id, flag } = args;
// The embedded post office runs on virtual time from 09:00 UTC, so that the ack timeouts pass at
// once; a mailroom-server (--server URL --admin-key KEY) runs on the wall clock.
const vt = new VirtualTime(Date.UTC(2026, 0, 1, 9, 0, 0));
const runtime = args.server
  ? createRuntime({ mailboxFactory: registeringMailboxFactory(args.server) })
  : createRuntime({ postOffice: new MemoryPostOffice({ clock: vt.scheduler }), scheduler: vt.scheduler });
const where = args.server ? args.where : 'the embedded post office, on virtual time';
const now = () => (args.server ? Date.now() : vt.now());
/** Awaits `work`; on virtual time, runs the clock forward until it settles. */
const run = <T>(work: Promise<T>) => (args.server ? work : vt.until(work));
// Demo-sized on a real clock: a level has 5 s to answer, not 30.
const ackTimeoutMs = Number(flag('ack-timeout-ms') ?? (args.server ? 5_000 : 30_000));
const clock = (at: number) => new Date(at).toISOString().slice(11, 23);
const say = (line: string) => console.log(`${clock(now())}  ${line}`);

/** Fails its first two runs (a flaky upstream, say), then works. */
let runs = 0;
class Worker extends Agent {
  override onTask(task: Task) {
    runs += 1;
    if (runs <= 2) {
      say(`worker: run ${runs} of "${task.name}" fails`);
      throw new Error('upstream timed out');
    }
    say(`worker: run ${runs} of "${task.name}" succeeds`);
    return { report: 'ready' };
  }
}

/** A level of the chain: answers with a decision, or not at all. */
let escalationThread: string | undefined;
class Level extends Agent {
  constructor(
    private readonly name: string,
    private readonly decision?: 'retry',
  ) {
    super();
  }
  override onEscalation(e: Escalation & { errorType: string }, ctx: AgentContext) {
    escalationThread = ctx.message.thread_id;
    say(
      `${this.name}: got [ESCALATION L${e.level}] ${e.errorType}: ${e.message}${this.decision ? ` → answers "${this.decision}"` : ' (does not answer)'}`,
    );
    if (!this.decision)
      say(
        `supervisor: waits ${ackTimeoutMs / 1000} s for L${e.level} to answer, until ${clock(now() + ackTimeoutMs)} (--ack-timeout-ms), then asks L${e.level + 1}`,
      );
    return this.decision;
  }
}

console.log(`on ${where}`);
const levels = [
  await runtime.spawn(new Level('L0 on-call bot'), { id: id('oncall-bot') }),
  await runtime.spawn(new Level('L1 team lead', 'retry'), { id: id('team-lead') }),
  await runtime.spawn(new Level('L2 human'), { id: id('human') }),
];
const user = await runtime.spawn(new (class User extends Agent {})(), { id: id('user') });

const supervisor = await runtime.supervise({
  id: id('supervisor'),
  strategy: 'one-for-one',
  maxRestarts: 1,
  withinMs: 60_000,
  backoff: { minBackoffMs: 500, maxBackoffMs: 5_000, randomFactor: 0 },
  escalation: { chain: levels.map((l) => l.address), ackTimeoutMs },
  children: [{ id: id('worker'), make: () => new Worker(), options: { maxAttempts: 5 } }],
});
supervisor.escalations$.subscribe((e) => say(`supervisor: nobody answered: ${JSON.stringify(e)}`));
const worker = supervisor.child(id('worker'))?.address ?? '';

say('user: asks the worker for a report');
const job = await user.delegate(worker, { name: 'report', description: 'build the weekly report' });
const [outcome] = await run(user.collect([job.taskId], { timeoutMs: 10 * ackTimeoutMs }));
say(
  `user: the report is ${outcome?.state}${outcome?.state === 'completed' ? `: ${JSON.stringify(outcome.result)}` : ''}`,
);

console.log('\nThe task:\n');
console.log(renderTimelineText(await user.audit(job.threadId)));
if (escalationThread) {
  console.log('\nThe escalation:\n');
  console.log(renderTimelineText(await (levels[1] ?? user).audit(escalationThread)));
}
await run(runtime.stop());
