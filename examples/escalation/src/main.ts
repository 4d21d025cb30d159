// Escalation: a worker fails; its supervisor restarts it once, then goes past its intensity and
// escalates by mail, level by level: L0 never answers, L1 answers "retry" after its ack timeout,
// and the retried task succeeds. Time is virtual, so the 30 s ack timeout passes at once.
import {
  Agent,
  createRuntime,
  type Escalation,
  MemoryPostOffice,
  renderTimelineText,
  type Task,
  timeline,
  VirtualTime,
} from '@mailroom/core';

const vt = new VirtualTime(Date.UTC(2026, 0, 1, 9, 0, 0));
const postOffice = new MemoryPostOffice({ clock: vt.scheduler });
const runtime = createRuntime({ postOffice, scheduler: vt.scheduler });
const at = () => new Date(vt.now()).toISOString().slice(11, 23);
const say = (line: string) => console.log(`${at()}  ${line}`);
const addr = (id: string) => `${id}@${postOffice.domain}`;

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
class Level extends Agent {
  constructor(
    private readonly name: string,
    private readonly decision?: 'retry',
  ) {
    super();
  }
  override onEscalation(e: Escalation & { errorType: string }) {
    say(
      `${this.name}: got [ESCALATION L${e.level}] ${e.errorType}: ${e.message}${this.decision ? ` → answers "${this.decision}"` : ' (does not answer)'}`,
    );
    return this.decision;
  }
}

await runtime.spawn(new Level('L0 on-call bot'), { id: 'oncall-bot' });
await runtime.spawn(new Level('L1 team lead', 'retry'), { id: 'team-lead' });
await runtime.spawn(new Level('L2 human'), { id: 'human' });
const user = await runtime.spawn(new (class User extends Agent {})(), { id: 'user' });

const supervisor = await runtime.supervise({
  id: 'supervisor',
  strategy: 'one-for-one',
  maxRestarts: 1,
  withinMs: 60_000,
  backoff: { minBackoffMs: 500, maxBackoffMs: 5_000, randomFactor: 0 },
  escalation: { chain: [addr('oncall-bot'), addr('team-lead'), addr('human')], ackTimeoutMs: 30_000 },
  children: [{ id: 'worker', make: () => new Worker(), options: { maxAttempts: 5 } }],
});
supervisor.escalations$.subscribe((e) => say(`supervisor: nobody answered: ${JSON.stringify(e)}`));

say('user: asks the worker for a report');
const job = await user.delegate(addr('worker'), { name: 'report', description: 'build the weekly report' });
await vt.advance(60_000);
const [outcome] = await user.collect([job.taskId], { timeoutMs: 1_000 });
say(
  `user: the report is ${outcome?.state}${outcome?.state === 'completed' ? `: ${JSON.stringify(outcome.result)}` : ''}`,
);

const escalationThread = (await postOffice.sent(addr('supervisor'))).messages[0]?.thread_id;
console.log('\nThe task:\n');
console.log(renderTimelineText(timeline(await user.thread(job.threadId))));
if (escalationThread) {
  console.log('\nThe escalation:\n');
  console.log(renderTimelineText(timeline(await postOffice.thread(addr('supervisor'), escalationThread))));
}
const stopping = runtime.stop();
await vt.advance(10_000);
await stopping;
