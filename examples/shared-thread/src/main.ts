// Shared thread: a host opens a [COLLAB] discussion; each agent adds to it once, to everyone.
import {
  Agent,
  type AgentContext,
  contribute,
  createRuntime,
  MemoryPostOffice,
  type Message,
  openSharedThread,
  renderTimelineText,
  timeline,
} from '@mailroom/core';
import { exampleArgs } from '@mailroom/example-support';
import { registeringMailboxFactory } from '@mailroom/http';

/** Says its piece once per thread, when the thread reaches it. */
class Voice extends Agent {
  constructor(private readonly line: string) {
    super();
  }
  override async onMessage(message: Message, ctx: AgentContext) {
    const thread = await ctx.thread(message.thread_id);
    if (thread.messages.some((m) => m.from_address === ctx.address)) return;
    await contribute(ctx, message.thread_id, this.line);
  }
}

const args = exampleArgs();
// The runtime: on a mailroom-server with --server URL --admin-key KEY (each agent registered there
// on first use), else on the embedded post office, in this process.
const runtime = args.server
  ? createRuntime({ mailboxFactory: registeringMailboxFactory(args.server) })
  : createRuntime({ postOffice: new MemoryPostOffice() });
const { where, id } = args;
const voices = [
  await runtime.spawn(new Voice('Ship on Monday.'), { id: id('planner') }),
  await runtime.spawn(new Voice('Only after the load test.'), { id: id('tester') }),
];
let everyoneSpoke!: () => void;
const spoke = new Promise<void>((resolve) => (everyoneSpoke = resolve));
let replies = 0;
class Host extends Agent {
  override onMessage() {
    if (++replies === voices.length) everyoneSpoke();
  }
}
const host = await runtime.spawn(new Host(), { id: id('host') });

console.log(`shared thread on ${where}`);
const opened = await openSharedThread(
  host,
  [host.address, ...voices.map((v) => v.address)],
  'release date',
  'When do we ship?',
);
await spoke;
const thread = await host.thread(opened.thread_id);
for (const m of thread.messages) console.log(`${m.from_address.split('@')[0]}: ${m.body_text}`);
console.log(renderTimelineText(timeline(thread)));
await runtime.stop();
