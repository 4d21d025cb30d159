import { defineTask } from '@mailroom/core';
import { embeddedRuntime, VirtualTime } from '@mailroom/core/testing';
import { APICallError } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { aborted, inState, stoppedAfterEach } from '../test/support.js';
import { ModelAgent } from './model-agent.js';
import { retryAfterMs } from './provider-retry.js';
import { scriptedModel } from './scripted-model.js';

const runtimes = stoppedAfterEach();

const Answer = defineTask({
  name: 'answer',
  description: 'Answer a question',
  input: z.object({ question: z.string() }),
  output: z.string(),
});

const T0 = Date.UTC(2026, 0, 1);
const tooMany = (retryAfter: string) =>
  new APICallError({
    message: 'Too Many Requests',
    url: 'https://provider.example/v1/chat',
    requestBodyValues: {},
    statusCode: 429,
    responseHeaders: { 'retry-after': retryAfter },
    isRetryable: true,
  });

/** A model whose one stream never ends; `streaming` resolves with the call's abort signal once it is called. */
function hangingModel() {
  let called!: (signal: AbortSignal | undefined) => void;
  const streaming = new Promise<AbortSignal | undefined>((resolve) => (called = resolve));
  const model = scriptedModel((options) => {
    called(options.abortSignal);
    return { hang: true };
  });
  return { model, streaming };
}

describe('cancellation and provider faults', () => {
  it('CANCEL of the task aborts the model stream; no RESULT goes out', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const { model, streaming } = hangingModel();
    const agent = await runtime.spawn(new ModelAgent({ contract: Answer, model, instructions: 'x' }), {
      id: 'answerer',
    });
    const { taskId, threadId } = await userRef.delegate(agent.address, {
      name: 'answer',
      description: 'answer',
      input: { question: 'why?' },
    });
    const signal = await streaming;
    expect(signal?.aborted).toBe(false);
    await userRef.cancel(taskId, 'changed my mind');
    await aborted(signal as AbortSignal);
    await inState(agent.tasks, taskId, 'received', 'canceled');
    expect(model.doStreamCalls).toHaveLength(1);
    const kinds = (await userRef.audit(threadId)).map((e) => e.kind);
    expect(kinds).not.toContain('result');
    expect(kinds).not.toContain('error');
  });

  it('stopping the runtime aborts the model stream', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes, { stopTimeoutMs: 50 });
    const { model, streaming } = hangingModel();
    const agent = await runtime.spawn(new ModelAgent({ contract: Answer, model, instructions: 'x' }), {
      id: 'answerer',
    });
    await userRef.delegate(agent.address, { name: 'answer', description: 'answer', input: { question: 'why?' } });
    await streaming;
    await runtime.stop();
    expect(model.doStreamCalls[0]?.abortSignal?.aborted).toBe(true);
  });

  it("a 429 is called again after the provider's retry-after (virtual time), then the task completes", async () => {
    const vt = new VirtualTime(T0);
    const { runtime, userRef } = await embeddedRuntime(runtimes, { scheduler: vt.scheduler, stopTimeoutMs: 1 });
    const model = scriptedModel([{ fail: tooMany('7') }, { text: 'because' }]);
    const agent = await runtime.spawn(new ModelAgent({ contract: Answer, model, instructions: 'x' }), {
      id: 'answerer',
    });
    const asked = userRef.ask(agent.address, Answer, { question: 'why?' }, { timeoutMs: 60_000 });
    await vt.advance(6_999);
    expect(model.doStreamCalls).toHaveLength(1);
    await vt.advance(1);
    expect(model.doStreamCalls).toHaveLength(2);
    await expect(vt.until(asked)).resolves.toBe('because');
  });

  it('5xx faults back off exponentially; after maxAttempts the task ends with ERROR ModelCallFailed, not run again', async () => {
    const vt = new VirtualTime(T0);
    const { runtime, userRef } = await embeddedRuntime(runtimes, { scheduler: vt.scheduler, stopTimeoutMs: 1 });
    const down = new APICallError({
      message: 'Bad Gateway',
      url: 'https://provider.example/v1/chat',
      requestBodyValues: {},
      statusCode: 502,
      isRetryable: true,
    });
    const model = scriptedModel([{ fail: down }]);
    const agent = await runtime.spawn(
      new ModelAgent({ contract: Answer, model, instructions: 'x', retry: { maxAttempts: 3, initialDelayMs: 1000 } }),
      { id: 'answerer' },
    );
    const asked = userRef.ask(agent.address, Answer, { question: 'why?' }, { timeoutMs: 60_000 });
    const settled = asked.catch((e: unknown) => e);
    await vt.advance(799);
    expect(model.doStreamCalls).toHaveLength(1);
    await vt.advance(1_201 + 2_400);
    expect(model.doStreamCalls).toHaveLength(3);
    await expect(vt.until(settled)).resolves.toMatchObject({
      type: 'ModelCallFailed',
      message: 'the model call failed (HTTP 502)',
    });
    await vt.advance(600_000);
    expect(model.doStreamCalls).toHaveLength(3);
  });

  it('reads retry-after in seconds, as a date, and retry-after-ms', () => {
    expect(retryAfterMs({ 'Retry-After': '3' }, 0)).toBe(3000);
    expect(retryAfterMs({ 'retry-after-ms': '250' }, 0)).toBe(250);
    expect(retryAfterMs({ 'retry-after': new Date(T0 + 5000).toUTCString() }, T0)).toBe(5000);
    expect(retryAfterMs({}, 0)).toBeUndefined();
  });
});

describe('budgets', () => {
  it('a task over its token budget ends with ERROR BudgetExceeded, carrying what it spent; the loop stops', async () => {
    const { runtime, userRef } = await embeddedRuntime(runtimes);
    const { tool } = await import('ai');
    const lookup = tool({ inputSchema: z.object({ q: z.string() }), execute: async () => 'more' });
    const model = scriptedModel([
      { toolCalls: [{ tool: 'lookup', input: { q: 'x' } }], usage: { input: 400, output: 200 } },
    ]);
    const agent = await runtime.spawn(
      new ModelAgent({ contract: Answer, model, instructions: 'x', tools: { lookup }, budget: { maxTokens: 500 } }),
      { id: 'answerer' },
    );
    const { taskId, threadId } = await userRef.delegate(agent.address, {
      name: 'answer',
      description: 'answer',
      input: { question: 'why?' },
    });
    const [outcome] = await userRef.collect([taskId], { timeoutMs: 5000 });
    expect(outcome).toMatchObject({ state: 'failed', error: { type: 'BudgetExceeded' } });
    expect(model.doStreamCalls).toHaveLength(1);
    const error = (await userRef.audit(threadId)).find((e) => e.kind === 'error');
    expect(error?.usage).toEqual({ input_tokens: 400, output_tokens: 200, total_tokens: 600 });
  });
});
