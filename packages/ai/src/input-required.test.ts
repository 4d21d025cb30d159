import { Agent, type AgentContext, defineTask, type StatusBody, type TaskMail } from '@mailroom/core';
import { embeddedRuntime } from '@mailroom/core/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { inState, stoppedAfterEach } from '../test/support.js';
import { ModelAgent } from './model-agent.js';
import { scriptedModel } from './scripted-model.js';

const runtimes = stoppedAfterEach();

const Paint = defineTask({
  name: 'paint',
  description: 'Paint a room',
  input: z.object({ room: z.string() }),
  output: z.string(),
});

/** The model asks which colour, then answers with what it was told. */
const painterModel = () =>
  scriptedModel((call, i) => {
    if (i === 0) return { toolCalls: [{ tool: 'ask_requester', input: { question: 'Which colour?' } }] };
    const told = JSON.stringify(call.prompt).match(/colour is (\w+)/)?.[1] ?? 'unknown';
    return { text: `painted ${told}` };
  });

/** A requester agent that answers questions in the thread. */
class Owner extends Agent {
  questions: string[] = [];
  override onStatus(status: TaskMail<StatusBody>, ctx: AgentContext) {
    if (status.body.state !== 'input-required') return undefined;
    this.questions.push(status.body.note ?? '');
    return ctx.reply('The colour is teal.');
  }
}

describe('input required', () => {
  it('a task asks its requester a question and pauses (input-required); an agent answers in the thread and it resumes', async () => {
    const { runtime } = await embeddedRuntime(runtimes);
    const painter = await runtime.spawn(
      new ModelAgent({ contract: Paint, model: painterModel(), instructions: 'x', inputRequired: {} }),
      { id: 'painter' },
    );
    const owner = new Owner();
    const ownerRef = await runtime.spawn(owner, { id: 'owner' });
    const { taskId, threadId } = await ownerRef.delegate(painter.address, {
      name: 'paint',
      description: 'paint',
      input: { room: 'hall' },
    });
    const [outcome] = await ownerRef.collect([taskId], { timeoutMs: 5000 });
    expect(outcome).toMatchObject({ state: 'completed', result: 'painted teal' });
    expect(owner.questions).toEqual(['Which colour?']);
    const entries = await ownerRef.audit(threadId);
    expect(entries.map((e) => `${e.kind}${e.state ? ` ${e.state}` : ''}`)).toEqual([
      'task submitted',
      'ack accepted',
      'status input-required',
      'answer',
      'result completed',
    ]);
    // The worker's record went through input-required and back to working.
    expect(painter.tasks.get(taskId, 'received')?.history.map((h) => h.state)).toContain('input-required');
  });

  it('a person answers from a mail client (Re: STATUS, plain text) and the task resumes', async () => {
    const { runtime, userRef, user } = await embeddedRuntime(runtimes);
    const painter = await runtime.spawn(
      new ModelAgent({ contract: Paint, model: painterModel(), instructions: 'x', inputRequired: {} }),
      { id: 'painter' },
    );
    const { taskId } = await userRef.delegate(painter.address, {
      name: 'paint',
      description: 'paint',
      input: { room: 'hall' },
    });
    const question = await user.next((s) => s.kind === 'status' && s.mail.body.state === 'input-required');
    await inState(userRef.tasks, taskId, 'sent', 'input-required');
    const asked = question.kind === 'status' ? question.mail.message : undefined;
    await userRef.send(painter.address, `Re: ${asked?.subject}`, 'Hi! The colour is ochre, thanks.', {
      inReplyTo: asked?.message_id ?? '',
    });
    const [outcome] = await userRef.collect([taskId], { timeoutMs: 5000 });
    expect(outcome).toMatchObject({ state: 'completed', result: 'painted ochre' });
  });
});
