// Pipeline: draft → edit → publish, each stage answering the previous one in the same thread.
import { Agent, createRuntime, MemoryPostOffice, pipeline, renderTimelineText, type Task } from '@mailroom/core';
import { exampleArgs } from '@mailroom/example-support';
import { registeringMailboxFactory } from '@mailroom/http';

class Stage extends Agent {
  constructor(private readonly work: (text: string) => string) {
    super();
  }
  override onTask(task: Task) {
    return this.work(String(task.input));
  }
}

const args = exampleArgs();
// The runtime: on a mailroom-server with --server URL --admin-key KEY (each agent registered there
// on first use), else on the embedded post office, in this process.
const runtime = args.server
  ? createRuntime({ mailboxFactory: registeringMailboxFactory(args.server) })
  : createRuntime({ postOffice: new MemoryPostOffice() });
const { where, id } = args;
const drafter = await runtime.spawn(new Stage((t) => `draft: ${t}`), { id: id('drafter') });
const editor = await runtime.spawn(new Stage((t) => t.replace('draft', 'edited')), { id: id('editor') });
const publisher = await runtime.spawn(new Stage((t) => `${t.toUpperCase()} (published)`), { id: id('publisher') });
const user = await runtime.spawn(new (class User extends Agent {})(), { id: id('user') });

console.log(`pipeline on ${where}`);
const run = await pipeline(
  user,
  [
    { to: drafter.address, name: 'draft' },
    { to: editor.address, name: 'edit' },
    { to: publisher.address, name: 'publish' },
  ],
  'agents that coordinate by email',
  { timeoutMs: 10_000 },
);
console.log(`output: ${String(run.output)}`);
console.log(renderTimelineText(await user.audit(run.threadId)));
await runtime.stop();
