import { defineTask } from '@mailroom/core';
import { embeddedRuntime, VirtualTime } from '@mailroom/core/testing';
import { tool } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { promptLines, stoppedAfterEach } from '../test/support.js';
import { ModelAgent } from './model-agent.js';
import type { ProgressEvent } from './progress.js';
import { scriptedModel } from './scripted-model.js';

const runtimes = stoppedAfterEach();

const Chat = defineTask({
  name: 'chat',
  description: 'Answer the user',
  input: z.object({ say: z.string() }),
  output: z.string(),
});

/** The roles and texts of a model call's prompt, system prompt left out. */
const turns = (call: unknown) => promptLines(call).filter((l) => !l.startsWith('system: '));

describe('the thread is the memory', () => {
  it("a follow-up task in the same thread gives the model the earlier exchange, rebuilt from the thread's mail", async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const model = scriptedModel((_call, i) => ({ text: i === 0 ? 'Hello Ada.' : 'Your name is Ada.' }));
    const agent = await runtime.spawn(new ModelAgent({ contract: Chat, model, instructions: 'x' }), { id: 'chat' });
    const first = await userRef.delegate(agent.address, {
      name: 'chat',
      description: 'chat',
      input: { say: 'I am Ada' },
    });
    await userRef.collect([first.taskId], { timeoutMs: 5000 });
    const answer = userRef.tasks.get(first.taskId, 'sent')?.answerMessageId ?? '';
    const second = await userRef.ask(agent.address, Chat, { say: 'Who am I?' }, { timeoutMs: 5000, inReplyTo: answer });
    expect(second).toBe('Your name is Ada.');
    expect(turns(model.doStreamCalls[1])).toEqual([
      'user: Task "chat": chat\nInput:\n{"say":"I am Ada"}',
      'assistant: Hello Ada.',
      'user: Task "chat": Answer the user\nInput:\n{"say":"Who am I?"}',
    ]);
    // A task in a new thread starts afresh.
    await userRef.ask(agent.address, Chat, { say: 'Who am I?' }, { timeoutMs: 5000 });
    expect(turns(model.doStreamCalls[2])).toHaveLength(1);
  });

  it('the oldest turns are left out past the memory budget', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const model = scriptedModel([{ text: 'ok' }]);
    const agent = await runtime.spawn(new ModelAgent({ contract: Chat, model, instructions: 'x', memoryTokens: 30 }), {
      id: 'chat',
    });
    let inReplyTo: string | undefined;
    for (const say of ['first '.repeat(20), 'second', 'third']) {
      const sent = await userRef.delegate(
        agent.address,
        { name: 'chat', description: 'chat', input: { say } },
        inReplyTo ? { inReplyTo } : {},
      );
      await userRef.collect([sent.taskId], { timeoutMs: 5000 });
      inReplyTo = userRef.tasks.get(sent.taskId, 'sent')?.answerMessageId;
    }
    const remembered = turns(model.doStreamCalls[2]).join('\n');
    expect(remembered).toContain('second');
    expect(remembered).not.toContain('first');
  });
});

describe('progress without spending quota', () => {
  it.each([
    [5000, 1],
    [1000, 2],
  ])(
    'streams deltas, tool calls and steps locally; STATUS at most once per %i ms: %i for three steps (virtual time)',
    async (statusIntervalMs, statuses) => {
      const vt = new VirtualTime(Date.UTC(2026, 0, 1));
      const { runtime, userRef } = await embeddedRuntime(runtimes, { scheduler: vt.scheduler, stopTimeoutMs: 1 });
      // Each lookup takes 4 s of virtual time: the steps end at 4 s, 8 s and 8 s.
      const lookup = tool({
        inputSchema: z.object({ q: z.string() }),
        execute: () => new Promise<string>((resolve) => vt.scheduler.schedule(() => resolve('found'), 4000)),
      });
      const model = scriptedModel([
        { toolCalls: [{ tool: 'lookup', input: { q: 'a' } }] },
        { toolCalls: [{ tool: 'lookup', input: { q: 'b' } }] },
        { text: 'All found, in a long enough answer.' },
      ]);
      const agent = new ModelAgent({ contract: Chat, model, instructions: 'x', tools: { lookup }, statusIntervalMs });
      const events: ProgressEvent[] = [];
      agent.progress.subscribe((e) => events.push(e));
      const ref = await runtime.spawn(agent, { id: 'chat' });
      const { taskId, threadId } = await userRef.delegate(ref.address, {
        name: 'chat',
        description: 'chat',
        input: { say: 'go' },
      });
      await vt.until(userRef.collect([taskId], { timeoutMs: 60_000 }));

      expect(events.filter((e) => e.type === 'tool-call')).toHaveLength(2);
      expect(events.filter((e) => e.type === 'step').map((e) => e.type === 'step' && e.step)).toEqual([1, 2, 3]);
      const text = events.map((e) => (e.type === 'text' ? e.delta : '')).join('');
      expect(text).toBe('All found, in a long enough answer.');
      expect(events.filter((e) => e.type === 'text').length).toBeGreaterThan(1);

      // 5 s: the report of 4 s goes out at 5 s; those of 8 s wait for 10 s, and the task ends first.
      // 1 s: at 4 s and at 8 s. A task shorter than the interval sends none.
      const status = (await userRef.audit(threadId)).filter((e) => e.kind === 'status');
      expect(status).toHaveLength(statuses);
    },
  );
});
