import { defineTask, ValidationError } from '@mailroom/core';
import { embeddedRuntime } from '@mailroom/core/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { promptLines, Research, stoppedAfterEach } from '../test/support.js';
import { ModelAgent } from './model-agent.js';
import type { ProgressEvent } from './progress.js';
import { scriptedModel } from './scripted-model.js';

const runtimes = stoppedAfterEach();

const Report = defineTask({
  name: 'report',
  description: 'Write a short report on a question',
  input: z.object({ question: z.string() }),
  output: z.object({ report: z.string() }),
});

const promptText = (call: unknown) => promptLines(call).join('\n');

describe('a model-backed agent', () => {
  it('answers a task with its tool loop; the output passes the contract', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const model = scriptedModel([{ text: '{"facts": ["actors share nothing"]}', usage: { input: 12, output: 8 } }]);
    const agent = await runtime.spawn(new ModelAgent({ contract: Research, model, instructions: 'You research.' }), {
      id: 'researcher',
    });
    const out = await userRef.ask(agent.address, Research, { topic: 'actors' }, { timeoutMs: 5000 });
    expect(out).toEqual({ facts: ['actors share nothing'] });
    const prompt = promptText(model.doStreamCalls[0]);
    expect(prompt).toContain('You research.');
    expect(prompt).toContain('Task "research": Find the facts on one topic\nInput:\n{"topic":"actors"}');
    // The contract's output schema is in the system prompt.
    expect(prompt).toContain('facts');
  });

  it('an answer that fails the contract ends the task with ERROR InvalidOutput', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const model = scriptedModel([{ text: '{"facts": "not a list"}' }]);
    const agent = await runtime.spawn(new ModelAgent({ contract: Research, model, instructions: 'x' }), {
      id: 'researcher',
    });
    await expect(userRef.ask(agent.address, Research, { topic: 'a' }, { timeoutMs: 5000 })).rejects.toMatchObject({
      type: 'InvalidOutput',
    });
  });

  it('stops the tool loop after maxSteps model calls', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const model = scriptedModel([{ toolCalls: [{ tool: 'lookup', input: { q: 'again' } }] }]);
    const { tool } = await import('ai');
    const lookup = tool({ inputSchema: z.object({ q: z.string() }), execute: async () => 'nothing yet' });
    const agent = await runtime.spawn(
      new ModelAgent({ contract: Research, model, instructions: 'x', maxSteps: 3, tools: { lookup } }),
      { id: 'researcher' },
    );
    await expect(userRef.ask(agent.address, Research, { topic: 'a' }, { timeoutMs: 5000 })).rejects.toMatchObject({
      type: 'InvalidOutput',
    });
    expect(model.doStreamCalls).toHaveLength(3);
  });

  it('options are checked at the boundary', () => {
    const model = scriptedModel([{ text: 'x' }]);
    expect(() => new ModelAgent({ contract: Research, model, instructions: 'x', maxSteps: 0 })).toThrow(
      /model agent options.*maxSteps/,
    );
    expect(() => new ModelAgent({ contract: Research, model, instructions: 'x', budget: { maxTokens: -1 } })).toThrow(
      ValidationError,
    );
  });
});

describe('other agents as tools', () => {
  it("a tool call is a TASK mail to the peer in the task's thread; its RESULT is the tool result; two calls in one step go out at once; usage is summed", async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const researcherModel = scriptedModel((call) => ({
      text: JSON.stringify({ facts: [promptText(call).includes('mail') ? 'mail is durable' : 'actors are isolated'] }),
      usage: { input: 100, output: 20 },
    }));
    const researcher = await runtime.spawn(
      new ModelAgent({ contract: Research, model: researcherModel, instructions: 'You research.' }),
      { id: 'researcher' },
    );
    const leadModel = scriptedModel([
      {
        toolCalls: [
          { tool: 'research', input: { topic: 'actors' } },
          { tool: 'research', input: { topic: 'mail' } },
        ],
        usage: { input: 50, output: 10 },
      },
      { text: '{"report": "Actors are isolated; mail is durable."}', usage: { input: 80, output: 15 } },
    ]);
    const lead = new ModelAgent({
      contract: Report,
      model: leadModel,
      instructions: 'You lead.',
      peers: [{ address: researcher.address, contract: Research }],
      prices: { scripted: { inputPerMillion: 1, outputPerMillion: 2 } },
    });
    const progress: ProgressEvent[] = [];
    lead.progress.subscribe((e) => progress.push(e));
    const leadRef = await runtime.spawn(lead, { id: 'lead' });

    const { taskId, threadId } = await userRef.delegate(leadRef.address, {
      name: 'report',
      description: 'report',
      input: { question: 'actors and mail?' },
    });
    const [outcome] = await userRef.collect([taskId], { timeoutMs: 5000 });
    expect(outcome).toMatchObject({ state: 'completed', result: { report: 'Actors are isolated; mail is durable.' } });

    // The model saw both peers' RESULTs as tool results.
    const second = promptText(leadModel.doStreamCalls[1]);
    expect(second).toContain('actors are isolated');
    expect(second).toContain('mail is durable');

    // Both TASKs went out in the user's thread before either RESULT came back.
    const entries = await leadRef.audit(threadId);
    const kinds = entries.filter((e) => e.from.startsWith('lead') || e.from.startsWith('researcher'));
    const tasks = kinds.map((e, i) => (e.kind === 'task' ? i : -1)).filter((i) => i >= 0);
    const firstPeerResult = kinds.findIndex((e) => e.kind === 'result' && e.from.startsWith('researcher'));
    expect(tasks).toHaveLength(2);
    expect(Math.max(...tasks)).toBeLessThan(firstPeerResult);

    // The RESULT carries the task's usage: its own two calls plus both delegations'.
    const result = entries.find((e) => e.kind === 'result' && e.taskId === taskId);
    expect(result?.usage).toEqual({
      input_tokens: 50 + 80 + 2 * 100,
      output_tokens: 10 + 15 + 2 * 20,
      total_tokens: 60 + 95 + 2 * 120,
      // Priced for the lead's own tokens (the researcher has no price table).
      cost_usd: expect.closeTo((130 * 1 + 25 * 2) / 1_000_000, 12),
    });
    // Each delegation's RESULT carries its own.
    const peerResults = entries.filter((e) => e.kind === 'result' && e.from.startsWith('researcher'));
    expect(peerResults.map((e) => e.usage?.total_tokens)).toEqual([120, 120]);
    expect(progress.filter((e) => e.type === 'tool-call').map((e) => e.type === 'tool-call' && e.input)).toEqual([
      { topic: 'actors' },
      { topic: 'mail' },
    ]);
  });
});
