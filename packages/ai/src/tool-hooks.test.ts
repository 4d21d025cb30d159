import { defineTask, type ToolHook } from '@mailroom/core';
import { embeddedRuntime } from '@mailroom/core/testing';
import { tool } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { promptLines, Research, stoppedAfterEach } from '../test/support.js';
import { ModelAgent } from './model-agent.js';
import { scriptedModel } from './scripted-model.js';

const runtimes = stoppedAfterEach();

const Ask = defineTask({ name: 'ask', description: 'Answer', input: z.object({ q: z.string() }), output: z.string() });

const toolOutputs = (call: unknown) =>
  promptLines(call)
    .filter((l) => l.startsWith('tool: '))
    .join('\n');

describe('beforeTool hooks', () => {
  it('block a peer tool (no TASK goes out, the model hears why) and change the input of another call', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const researcherModel = scriptedModel((call) => ({
      text: JSON.stringify({
        facts: [JSON.stringify(call.prompt).includes('[redacted]') ? 'redacted seen' : 'raw seen'],
      }),
    }));
    const researcher = await runtime.spawn(
      new ModelAgent({ contract: Research, model: researcherModel, instructions: 'r' }),
      { id: 'researcher' },
    );
    const policy: ToolHook = (call) => {
      const topic = (call.input as { topic: string }).topic;
      if (topic.includes('payroll')) return { block: 'payroll is off limits' };
      return { change: { topic: topic.replaceAll(/\d{3}-\d{4}/g, '[redacted]') } };
    };
    const leadModel = scriptedModel([
      {
        toolCalls: [
          { tool: 'research', input: { topic: 'payroll of 2026' } },
          { tool: 'research', input: { topic: 'who has 555-1234' } },
        ],
      },
      { text: 'done' },
    ]);
    const lead = await runtime.spawn(
      new ModelAgent({
        contract: Ask,
        model: leadModel,
        instructions: 'l',
        peers: [{ address: researcher.address, contract: Research }],
        beforeTool: policy,
      }),
      { id: 'lead' },
    );
    await expect(userRef.ask(lead.address, Ask, { q: 'go' }, { timeoutMs: 5000 })).resolves.toBe('done');
    // One TASK went out, with the redacted input.
    expect(researcherModel.doStreamCalls).toHaveLength(1);
    const outputs = toolOutputs(leadModel.doStreamCalls[1]);
    expect(outputs).toContain('payroll is off limits');
    expect(outputs).toContain('redacted seen');
  });

  it('see local tools too', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const seen: unknown[] = [];
    const clock = tool({ inputSchema: z.object({ tz: z.string() }), execute: async ({ tz }) => `noon in ${tz}` });
    const model = scriptedModel([{ toolCalls: [{ tool: 'clock', input: { tz: 'UTC' } }] }, { text: 'it is noon' }]);
    const agent = await runtime.spawn(
      new ModelAgent({
        contract: Ask,
        model,
        instructions: 'x',
        tools: { clock },
        beforeTool: (call) => {
          seen.push(call);
          return { change: { tz: 'Europe/Paris' } };
        },
      }),
      { id: 'clocker' },
    );
    await userRef.ask(agent.address, Ask, { q: 'time?' }, { timeoutMs: 5000 });
    expect(seen).toEqual([{ tool: 'clock', toolCallId: expect.any(String), input: { tz: 'UTC' } }]);
    expect(toolOutputs(model.doStreamCalls[1])).toContain('noon in Europe/Paris');
  });
});
