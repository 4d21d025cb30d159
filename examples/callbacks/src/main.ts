// Async callbacks: the requester moves on; the result lands at a callback inbox, under its subject.
import { Agent, createRuntime, MemoryPostOffice, type Message, type Task } from '@mailroom/core';
import { exampleArgs } from '@mailroom/example-support';
import { registeringMailboxFactory } from '@mailroom/http';

class Translator extends Agent {
  override onTask(task: Task) {
    return String(task.input).split(' ').reverse().join(' ');
  }
}

let received!: (m: Message) => void;
const delivered = new Promise<Message>((resolve) => (received = resolve));
class Inbox extends Agent {
  override onMessage(message: Message) {
    received(message);
  }
}

const args = exampleArgs();
// The runtime: on a mailroom-server with --server URL --admin-key KEY (each agent registered there
// on first use), else on the embedded post office, in this process.
const runtime = args.server
  ? createRuntime({ mailboxFactory: registeringMailboxFactory(args.server) })
  : createRuntime({ postOffice: new MemoryPostOffice() });
const { where, id } = args;
const translator = await runtime.spawn(new Translator(), { id: id('translator') });
const inbox = await runtime.spawn(new Inbox(), { id: id('callbacks') });
const requester = await runtime.spawn(new (class Requester extends Agent {})(), { id: id('requester') });

console.log(`callbacks on ${where}`);
const job = await requester.delegate(translator.address, {
  name: 'translate',
  description: 'reverse the words',
  input: 'later arrive results',
  callback: inbox.address,
  callbackSubject: 'translation ready',
});
console.log(`requester: sent ${job.taskId}, not waiting; the callback inbox waits for the result`);
const mail = await delivered;
console.log(`callback inbox: "${mail.subject}" → ${JSON.parse(mail.body_text ?? '{}').result}`);
await runtime.stop();
