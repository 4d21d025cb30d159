import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { TaskCanceledError, TaskFailedError, ValidationError } from '../errors.js';
import { defineTask } from '../protocol/task-contract.js';
import type { Runtime } from '../runtime/runtime.js';
import { TaskTimeoutError } from '../tasks/task-timeout-error.js';
import { embeddedRuntime, VirtualTime } from '../testing/index.js';
import { Agent, type AgentContext, type Task } from './agent.js';

const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
});

const Summarize = defineTask({
  name: 'summarize',
  description: 'Summarize a text in at most `words` words',
  input: z.object({ text: z.string().min(1), words: z.number().int().positive().default(20) }),
  output: z.object({ summary: z.string(), words: z.number() }),
});

/** A worker with a typed handler; counts its runs. */
class Summarizer extends Agent {
  runs = 0;
  constructor(private readonly answer?: (input: { text: string; words: number }) => unknown) {
    super();
    this.handle(Summarize, (input) => {
      this.runs += 1;
      expectTypeOf(input).toEqualTypeOf<{ text: string; words: number }>();
      if (this.answer) return this.answer(input) as { summary: string; words: number };
      const summary = input.text.split(' ').slice(0, input.words).join(' ');
      return { summary, words: summary.split(' ').length };
    });
  }
  override onTask(task: Task) {
    return `untyped ${task.name}`;
  }
}

describe('typed tasks and ask', () => {
  it('ask sends a typed task and resolves with its typed output; the worker got decoded input', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const worker = await runtime.spawn(new Summarizer(), { id: 'summarizer' });
    const out = await userRef.ask(
      worker.address,
      Summarize,
      { text: 'one two three four', words: 2 },
      { timeoutMs: 5000 },
    );
    expectTypeOf(out).toEqualTypeOf<{ summary: string; words: number }>();
    expect(out).toEqual({ summary: 'one two', words: 2 });
    // The schema's default was applied on the worker's side.
    await expect(userRef.ask(worker.address, Summarize, { text: 'a b' }, { timeoutMs: 5000 })).resolves.toEqual({
      summary: 'a b',
      words: 2,
    });
  });

  it('answers input that fails the contract with ERROR InvalidInput naming the zod issues; the handler never runs', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const agent = new Summarizer();
    const worker = await runtime.spawn(agent, { id: 'summarizer' });
    const { taskId, threadId } = await userRef.delegate(worker.address, {
      name: 'summarize',
      description: 'untyped sender',
      input: { text: 42, words: -1 },
    });
    const [outcome] = await userRef.collect([taskId], { timeoutMs: 5000 });
    expect(outcome).toMatchObject({ state: 'failed', error: { type: 'InvalidInput' } });
    const message = outcome?.state === 'failed' ? outcome.error.message : '';
    expect(message).toMatch(/at text: .*string/);
    expect(message).toMatch(/at words: /);
    expect(agent.runs).toBe(0);
    // Not taken: no ACK went out before the ERROR.
    const subjects = (await userRef.thread(threadId)).messages.map((m) => m.subject.split(':')[0]);
    expect(subjects).toEqual(['TASK', 'ERROR']);
  });

  it('an output that fails the contract is an ERROR InvalidOutput, and ask rejects with TaskFailedError', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const worker = await runtime.spawn(new Summarizer(() => ({ summary: 7 })), { id: 'summarizer' });
    const asked = userRef.ask(worker.address, Summarize, { text: 'x' }, { timeoutMs: 5000 });
    await expect(asked).rejects.toBeInstanceOf(TaskFailedError);
    await expect(asked).rejects.toMatchObject({ type: 'InvalidOutput', message: /at summary: / });
  });

  it("rejects with the worker's failure as TaskFailedError, keeping its type", async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const worker = await runtime.spawn(
      new Summarizer(() => {
        throw new TaskFailedError('ContextTooLong', 'the text is too long for the model');
      }),
      { id: 'summarizer' },
    );
    await expect(userRef.ask(worker.address, Summarize, { text: 'x' }, { timeoutMs: 5000 })).rejects.toMatchObject({
      name: 'TaskFailedError',
      type: 'ContextTooLong',
      message: 'the text is too long for the model',
    });
  });

  it('checks the input before sending: a ValidationError, and nothing goes out', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const worker = await runtime.spawn(new Summarizer(), { id: 'summarizer' });
    // @ts-expect-error: text must be a string
    const asked = userRef.ask(worker.address, Summarize, { text: 1 }, { timeoutMs: 5000 });
    await expect(asked).rejects.toBeInstanceOf(ValidationError);
    expect((await userRef.mailbox.sent()).messages).toHaveLength(0);
  });

  it('rejects with TaskTimeoutError when no answer comes in time (virtual time)', async () => {
    const vt = new VirtualTime(Date.UTC(2026, 0, 1));
    const { runtime, userRef } = await embeddedRuntime(runtimes, { scheduler: vt.scheduler, stopTimeoutMs: 10 });
    const worker = await runtime.spawn(new Summarizer(() => new Promise(() => {})), { id: 'summarizer' });
    let settled: unknown;
    userRef.ask(worker.address, Summarize, { text: 'x' }, { timeoutMs: 30_000 }).catch((e) => (settled = e));
    await vt.advance(29_999);
    expect(settled).toBeUndefined();
    await vt.advance(1);
    expect(settled).toBeInstanceOf(TaskTimeoutError);
    const stopping = runtime.stop();
    await vt.advance(10);
    await stopping;
  });

  it("an aborted ask cancels the task (the worker's signal aborts) and rejects with TaskCanceledError", async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    let aborted!: () => void;
    const workerSaw = new Promise<void>((r) => (aborted = r));
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    class Patient extends Agent {
      constructor() {
        super();
        this.handle(Summarize, (_input, ctx: AgentContext) => {
          started();
          return new Promise((_, reject) =>
            ctx.signal.addEventListener('abort', () => {
              aborted();
              reject(new Error('aborted'));
            }),
          );
        });
      }
    }
    const worker = await runtime.spawn(new Patient(), { id: 'patient' });
    const controller = new AbortController();
    const asked = userRef.ask(worker.address, Summarize, { text: 'x' }, { timeoutMs: 5000, signal: controller.signal });
    await running;
    controller.abort();
    await expect(asked).rejects.toBeInstanceOf(TaskCanceledError);
    await workerSaw;
  });

  it('exports the contract as JSON Schema (zod 4)', () => {
    const schema = Summarize.jsonSchema();
    expect(schema.name).toBe('summarize');
    expect(schema.description).toMatch(/Summarize/);
    expect(schema.input).toMatchObject({
      type: 'object',
      properties: { text: { type: 'string', minLength: 1 }, words: { type: 'integer', default: 20 } },
      required: ['text'],
    });
    expect(schema.output).toMatchObject({ type: 'object', required: ['summary', 'words'] });
  });

  it('refuses a contract whose name cannot go in a subject line', () => {
    expect(() => defineTask({ name: 'two\nlines', input: z.string(), output: z.string() })).toThrow(ValidationError);
  });

  it('plain delegate/collect and untyped tasks keep working beside typed ones', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const worker = await runtime.spawn(new Summarizer(), { id: 'summarizer' });
    const { taskId } = await userRef.delegate(worker.address, { name: 'other', description: 'untyped' });
    await expect(userRef.collect([taskId], { timeoutMs: 5000 })).resolves.toMatchObject([
      { state: 'completed', result: 'untyped other' },
    ]);
  });
});

describe('stopping right after an answer', () => {
  it('leaves no answer unread: a runtime stopped as soon as ask and collect return has read their RESULTs', async () => {
    const running: Runtime[] = [];
    const { runtime, userRef, postOffice } = await embeddedRuntime(running);
    const worker = await runtime.spawn(new Summarizer(), { id: 'summarizer-stop' });
    const out = await userRef.ask(worker.address, Summarize, { text: 'a b c', words: 1 }, { timeoutMs: 5000 });
    expect(out).toEqual({ summary: 'a', words: 1 });
    const task = await userRef.delegate(worker.address, {
      name: 'summarize',
      description: 'two words',
      input: { text: 'd e' },
    });
    await userRef.collect([task.taskId], { timeoutMs: 5000 });
    await runtime.stop();
    // The RESULTs took effect (ask and collect returned with them): none waits to be delivered again.
    const inbox = await postOffice.inbox(userRef.address, {});
    const unread = inbox.messages.filter((m) => m.read_at === null).map((m) => m.subject.split(':')[0]);
    expect(inbox.messages.filter((m) => m.subject.startsWith('RESULT:'))).toHaveLength(2);
    expect(unread).toEqual([]);
  });
});

describe('stopping while an answer waits for a slot', () => {
  it('handles and marks read a RESULT that waited behind the busy handler which collected it', async () => {
    const running: Runtime[] = [];
    const { runtime, postOffice } = await embeddedRuntime(running);
    const worker = await runtime.spawn(new Summarizer(), { id: 'summarizer-slot' });
    let collected!: () => void;
    const wasCollected = new Promise<void>((r) => (collected = r));
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const boss = await runtime.spawn(
      new (class extends Agent {
        override async onMessage(_m: unknown, ctx: AgentContext) {
          const task = await ctx.delegate(worker.address, {
            name: 'summarize',
            description: 'one word',
            input: { text: 'p q', words: 1 },
          });
          await ctx.collect([task.taskId], { timeoutMs: 5000 });
          collected();
          await gate; // the only slot stays taken: the RESULT waits in its lane
        }
      })(),
      { id: 'boss-slot', concurrency: 1 },
    );
    const user = await runtime.spawn(new (class extends Agent {})(), { id: 'user-slot' });
    await user.send(boss.address, 'go', '');
    await wasCollected;
    const stopping = runtime.stop();
    open();
    await stopping;
    const unread = await postOffice.inbox(boss.address, { unread_only: true });
    expect(unread.messages.map((m) => m.subject.split(':')[0])).toEqual([]);
  });
});
