// A research team that thinks: a model-backed orchestrator delegates to model-backed specialists
// over mail. Each tool call of its model is a TASK to a peer; each RESULT comes back as the tool's
// result, with the tokens it cost. Offline on scripted models, or `--model provider:id`.
import { ModelAgent } from '@mailroom/ai';
import { Agent, createRuntime, MemoryPostOffice, renderTimelineText } from '@mailroom/core';
import { exampleArgs } from '@mailroom/example-support';
import { registeringMailboxFactory } from '@mailroom/http';
import { realTeam, scriptedTeam } from './models.js';
import { Brief, Critique, Research } from './team.js';

const args = exampleArgs(process.argv, ['model']);
// The runtime: on a mailroom-server with --server URL --admin-key KEY (each agent registered there
// on first use), else on the embedded post office, in this process.
const runtime = args.server
  ? createRuntime({ mailboxFactory: registeringMailboxFactory(args.server) })
  : createRuntime({ postOffice: new MemoryPostOffice() });
const { where, id } = args;
const spec = args.flag('model') ?? process.env.MAILROOM_MODEL;
let models: Awaited<ReturnType<typeof realTeam>>;
try {
  models = spec ? await realTeam(spec) : scriptedTeam();
} catch (err) {
  console.error(`research-team: ${(err as Error).message}`);
  process.exit(1);
}
console.log(
  `${models.scripted ? 'research-team on a scripted model (no --model given; offline, nothing real is called)' : `research-team on ${spec}`}, mail on ${where}`,
);

const researcher = await runtime.spawn(
  new ModelAgent({ contract: Research, model: models.researcher, instructions: 'You are a careful researcher.' }),
  { id: id('researcher') },
);
const critic = await runtime.spawn(
  new ModelAgent({ contract: Critique, model: models.critic, instructions: 'You are a blunt reviewer.' }),
  { id: id('critic') },
);
const lead = new ModelAgent({
  contract: Brief,
  model: models.orchestrator,
  instructions: 'You lead a research team: research each side of the question, have the draft critiqued, then brief.',
  peers: [
    { address: researcher.address, contract: Research, timeoutMs: 120_000 },
    { address: critic.address, contract: Critique, timeoutMs: 120_000 },
  ],
  maxSteps: 6,
  budget: { maxTokens: 50_000 },
});
// The local progress stream: what an app would forward to its own client (no mail, no quota).
lead.progress.subscribe((e) => {
  if (e.type === 'tool-call') console.log(`orchestrator: calls ${e.tool} ${JSON.stringify(e.input)}`);
  if (e.type === 'step') console.log(`orchestrator: step ${e.step} done, ${e.usage.totalTokens} tokens so far`);
});
const orchestrator = await runtime.spawn(lead, { id: id('orchestrator') });
const user = await runtime.spawn(new (class User extends Agent {})(), { id: id('user') });

const question = 'Why build AI agents as actors that coordinate by email?';
const { taskId, threadId } = await user.delegate(orchestrator.address, {
  name: Brief.name,
  description: Brief.description,
  input: { question },
});
// A real model takes seconds per step; each peer call may take up to 2 min, the whole brief 5.
console.log(`user: asked for a brief; waiting up to 5 min for it (each model step is printed as it ends)`);
const [outcome] = await user.collect([taskId], { timeoutMs: 300_000 });
console.log(`\nuser: ${question}`);
console.log(
  outcome?.state === 'completed'
    ? `brief: ${JSON.stringify(outcome.result, null, 2)}`
    : `failed: ${JSON.stringify(outcome)}`,
);

const entries = await user.audit(threadId);
console.log('\nthe thread, as a timeline:');
console.log(renderTimelineText(entries));
console.log('\ntokens per task:');
for (const e of entries.filter((x) => x.usage && x.taskId)) {
  const task = entries.find((x) => x.kind === 'task' && x.taskId === e.taskId);
  const name = task?.subject.split(' — ')[1] ?? '?';
  const u = e.usage as NonNullable<typeof e.usage>;
  console.log(
    `  ${e.taskId} ${name.padEnd(8)} ${(e.from.split('@')[0] ?? '').padEnd(13)} ${String(u.total_tokens).padStart(5)} tokens (${u.input_tokens} in, ${u.output_tokens} out)`,
  );
}
await runtime.stop();
