// Process 2: delegates a task to the translator in the other process and prints the exchange.
import { Agent, renderTimelineText } from '@mailroom/core';
import { remoteRuntime, serverArgs } from './connect.js';

const server = serverArgs(process.argv);
if (!server) throw new Error('usage: requester --server URL --admin-key KEY');
const runtime = await remoteRuntime(server.url, server.adminKey, ['requester']);
const me = await runtime.spawn(new (class Requester extends Agent {})(), { id: 'requester' });
const translator = me.address.replace(/^requester@/, 'translator@');
console.log(`requester ${process.pid}: asking ${translator}`);
const job = await me.delegate(translator, {
  name: 'translate',
  description: 'reverse the words',
  input: { text: 'mail by agents coordinate' },
});
const [outcome] = await me.collect([job.taskId], { timeoutMs: 15_000 });
console.log(
  `requester ${process.pid}: ${outcome?.state}: ${JSON.stringify(outcome?.state === 'completed' ? outcome.result : outcome)}`,
);
console.log(renderTimelineText(await me.audit(job.threadId)));
await runtime.stop();
