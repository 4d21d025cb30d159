// Hub and spoke: an orchestrator delegates "search", "analyze" and "cite" to three specialists on
// the embedded post office, collects the results with a deadline, and the exchange is printed.
import { Agent, type AgentContext, hubAndSpoke, renderTimelineText, type Task } from '@mailroom/core';
import { exampleRuntime } from '@mailroom/example-support';

const work = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A specialist does its part of the job (here: a short pause stands in for real work). */
class Specialist extends Agent {
  constructor(private readonly skill: string) {
    super();
  }
  override async onTask(task: Task, ctx: AgentContext) {
    await ctx.status('working', { note: `${this.skill} started` });
    await work(100 + Math.random() * 200);
    return { skill: this.skill, answer: `${this.skill} of "${(task.input as { topic: string }).topic}" done` };
  }
}

/** The hub: fans the task out to the specialists and merges what comes back. */
class Orchestrator extends Agent {
  constructor(private readonly specialists: Record<string, string>) {
    super();
  }
  override async onTask(task: Task, ctx: AgentContext) {
    const outcomes = await hubAndSpoke(
      ctx,
      Object.entries(this.specialists).map(([skill, to]) => ({
        to,
        task: { name: skill, description: `${skill} for the report`, input: task.input },
      })),
      { timeoutMs: 5_000, inThread: true },
    );
    return outcomes.map((o) => (o.state === 'completed' ? o.result : o));
  }
}

const { runtime, where, id } = exampleRuntime();
const started = Date.now();
const say = (line: string) => console.log(`[${String(Date.now() - started).padStart(4)} ms] ${line}`);

const specialists: Record<string, string> = {};
for (const skill of ['search', 'analyze', 'cite']) {
  specialists[skill] = (await runtime.spawn(new Specialist(skill), { id: id(skill) })).address;
}
const orchestrator = await runtime.spawn(new Orchestrator(specialists), { id: id('orchestrator') });
const user = await runtime.spawn(new (class User extends Agent {})(), { id: id('user') });

orchestrator.tasks.changes$.subscribe((t) => {
  if (t.role === 'sent')
    say(`orchestrator: ${t.name} (${t.peer.split('@')[0]}) is ${t.state}${t.note ? ` — ${t.note}` : ''}`);
});

say(`agents on ${where}`);
say('user: asking the orchestrator for a report on "actor runtimes"');
const job = await user.delegate(orchestrator.address, {
  name: 'report',
  description: 'write a short report',
  input: { topic: 'actor runtimes' },
});
const [outcome] = await user.collect([job.taskId], { timeoutMs: 10_000 });
say(`user: report ${outcome?.state}`);
console.log(JSON.stringify(outcome?.state === 'completed' ? outcome.result : outcome, null, 2));

console.log('\nThe whole exchange, as one thread:\n');
console.log(renderTimelineText(await user.audit(job.threadId)));
await runtime.stop();
