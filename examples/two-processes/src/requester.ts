// Process 2: delegates a task to the translator in the other process and prints the exchange.
import { Agent, createRuntime, renderTimelineText } from '@mailroom/core';
import { HttpMailbox } from '@mailroom/http';
import { idOf, register, serverArgs } from './connect.js';

const server = serverArgs(process.argv);
if (!server) throw new Error('usage: requester --server URL --admin-key KEY');
// The runtime: its agent's mailbox is an HttpMailbox on the server, with the key registration gave.
const apiKey = await register(server, idOf('requester', server));
const runtime = createRuntime({ mailboxFactory: () => HttpMailbox.connect({ baseUrl: server.url, apiKey }) });
const me = await runtime.spawn(new (class Requester extends Agent {})(), { id: idOf('requester', server) });
const translator = me.address.replace(/^requester/, 'translator');
console.log(`requester ${process.pid}: asking ${translator}`);
const job = await me.delegate(translator, {
  name: 'translate',
  description: 'reverse the words',
  input: { text: 'mail by agents coordinate' },
});
console.log(`requester ${process.pid}: sent ${job.taskId}; waiting up to 15 s for its RESULT`);
const [outcome] = await me.collect([job.taskId], { timeoutMs: 15_000 });
console.log(
  `requester ${process.pid}: ${outcome?.state}: ${JSON.stringify(outcome?.state === 'completed' ? outcome.result : outcome)}`,
);
console.log(renderTimelineText(await me.audit(job.threadId)));
await runtime.stop();
