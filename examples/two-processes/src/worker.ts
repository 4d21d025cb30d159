// Process 1: a translator agent that takes tasks over the network.
import { Agent, type AgentContext, createRuntime, type Task } from '@mailroom/core';
import { HttpMailbox } from '@mailroom/http';
import { idOf, register, serverArgs } from './connect.js';

class Translator extends Agent {
  override async onTask(task: Task, ctx: AgentContext) {
    await ctx.status('working', { note: `translating for ${task.from}` });
    const text = String((task.input as { text?: string })?.text ?? '');
    return { pid: process.pid, translated: text.split(' ').reverse().join(' ') };
  }
}

const server = serverArgs(process.argv);
if (!server) throw new Error('usage: worker --server URL --admin-key KEY');
// The runtime: its agent's mailbox is an HttpMailbox on the server, with the key registration gave.
const apiKey = await register(server, idOf('translator', server));
const runtime = createRuntime({ mailboxFactory: () => HttpMailbox.connect({ baseUrl: server.url, apiKey }) });
const ref = await runtime.spawn(new Translator(), { id: idOf('translator', server) });
console.log(`worker ${process.pid}: ${ref.address} ready`);
process.on('SIGTERM', () => {
  void runtime.stop().then(() => {
    console.log(`worker ${process.pid}: stopped`);
    process.exit(0);
  });
});
