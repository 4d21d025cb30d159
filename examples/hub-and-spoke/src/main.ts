// Hub and spoke: an orchestrator asks three specialists for "search", "analyze" and "cite" with
// typed contracts, merges their parts into a report, and serves several users' requests at once
// (its handlers run side by side, one thread each). The first report's exchange is printed.
import { Agent, type AgentContext, createRuntime, MemoryPostOffice, renderTimelineText } from '@mailroom/core';
import { exampleArgs } from '@mailroom/example-support';
import { registeringMailboxFactory } from '@mailroom/http';
import { parts, Report, type Skill } from './contracts.js';

const work = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A specialist does its part of the job (here: a short pause stands in for a model call). */
class Specialist extends Agent {
  constructor(skill: Skill) {
    super();
    this.handle(parts[skill], async ({ topic }, ctx) => {
      await ctx.status('working', { note: `${skill} started` });
      await work(100 + Math.random() * 200);
      return { skill, answer: `${skill} of "${topic}" done` };
    });
  }
}

/** The hub: asks every specialist at once, in the request's thread, and merges the parts. */
class Orchestrator extends Agent {
  constructor(specialists: Record<Skill, string>) {
    super();
    this.handle(Report, (input, ctx: AgentContext) =>
      Promise.all(
        (Object.keys(specialists) as Skill[]).map((skill) =>
          ctx.ask(specialists[skill], parts[skill], input, { timeoutMs: 5_000, inReplyTo: ctx.message.message_id }),
        ),
      ),
    );
  }
}

const args = exampleArgs();
// The runtime: on a mailroom-server with --server URL --admin-key KEY (each agent registered there
// on first use), else on the embedded post office, in this process.
const runtime = args.server
  ? createRuntime({ mailboxFactory: registeringMailboxFactory(args.server) })
  : createRuntime({ postOffice: new MemoryPostOffice() });
const { where, id } = args;
const started = Date.now();
const say = (line: string) => console.log(`[${String(Date.now() - started).padStart(4)} ms] ${line}`);

const specialists = {} as Record<Skill, string>;
for (const skill of Object.keys(parts) as Skill[]) {
  specialists[skill] = (await runtime.spawn(new Specialist(skill), { id: id(skill) })).address;
}
const orchestrator = await runtime.spawn(new Orchestrator(specialists), { id: id('orchestrator') });
const user = await runtime.spawn(new (class User extends Agent {})(), { id: id('user') });

const topics = ['actor runtimes', 'email agents', 'typed tasks'];
// Each request is a thread of its own: the orchestrator's asks for it run in that thread.
const requests = new Map<string, number>();
orchestrator.tasks.changes$.subscribe((t) => {
  if (t.role !== 'sent' || (t.state !== 'accepted' && t.state !== 'completed')) return;
  if (!requests.has(t.threadId)) requests.set(t.threadId, requests.size + 1);
  // The peer's id is said when it is not the task's name (on a server, ids carry the run's suffix).
  const peer = t.peer.split('@')[0];
  const who = peer === t.name ? t.name : `${t.name} (${peer})`;
  say(`orchestrator: ${who} is ${t.state} [request ${requests.get(t.threadId)}]`);
});

say(`agents on ${where}`);
say(`user: asking the orchestrator for ${topics.length} reports at once`);
const reports = await Promise.all(
  topics.map(async (topic) => {
    const report = await user.ask(orchestrator.address, Report, { topic }, { timeoutMs: 10_000 });
    say(`user: report on "${topic}" completed`);
    return report;
  }),
);
say(`user: ${reports.length} reports served at once (each takes one specialist round, not three)`);
console.log(JSON.stringify(reports[0], null, 2));

const first = user.tasks.list({ role: 'sent' }).find((t) => t.name === 'report');
console.log('\nThe first report, as one thread:\n');
if (first) console.log(renderTimelineText(await user.audit(first.threadId)));
await runtime.stop();
