import type { LanguageModelV4CallOptions, LanguageModelV4StreamPart } from '@ai-sdk/provider';
import { simulateReadableStream } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';

/** One model turn of a script: text, tool calls, or a fault. */
export type ScriptedTurn =
  | {
      /** The answer (streamed in a few deltas). */
      text?: string;
      /** Tool calls the model makes in this step (run at once). */
      toolCalls?: { tool: string; input: unknown }[];
      /** @default `{ input: 10, output: 5 }` */
      usage?: { input: number; output: number };
    }
  /** The provider's call fails with this error (an `APICallError` for a 429 or a 5xx). */
  | { fail: Error }
  /** The stream starts and never ends, until the call is aborted. */
  | { hang: true };

/** A turn for each call: a list (in order; the last repeats) or a function of the call. */
export type Script = readonly ScriptedTurn[] | ((call: LanguageModelV4CallOptions, index: number) => ScriptedTurn);

let calls = 0;

function parts(turn: Exclude<ScriptedTurn, { fail: Error } | { hang: true }>): LanguageModelV4StreamPart[] {
  const usage = turn.usage ?? { input: 10, output: 5 };
  const out: LanguageModelV4StreamPart[] = [{ type: 'stream-start', warnings: [] }];
  if (turn.text !== undefined) {
    out.push({ type: 'text-start', id: 't' });
    for (const delta of turn.text.match(/[\s\S]{1,16}/g) ?? []) out.push({ type: 'text-delta', id: 't', delta });
    out.push({ type: 'text-end', id: 't' });
  }
  for (const call of turn.toolCalls ?? []) {
    out.push({
      type: 'tool-call',
      toolCallId: `call-${++calls}`,
      toolName: call.tool,
      input: JSON.stringify(call.input),
    });
  }
  out.push({
    type: 'finish',
    finishReason: { unified: turn.toolCalls?.length ? 'tool-calls' : 'stop', raw: undefined },
    usage: {
      inputTokens: { total: usage.input, noCache: usage.input, cacheRead: undefined, cacheWrite: undefined },
      outputTokens: { total: usage.output, text: usage.output, reasoning: undefined },
    },
  });
  return out;
}

/**
 * A scripted language model (the AI SDK's own mock): for tests and for running without a provider.
 * `model.doStreamCalls` has every prompt it was given.
 */
export function scriptedModel(script: Script, modelId = 'scripted'): MockLanguageModelV4 {
  let index = 0;
  return new MockLanguageModelV4({
    provider: 'mailroom-script',
    modelId,
    doStream: async (options) => {
      const i = index++;
      const turn = typeof script === 'function' ? script(options, i) : (script[Math.min(i, script.length - 1)] ?? {});
      if ('fail' in turn) throw turn.fail;
      if ('hang' in turn) {
        const signal = options.abortSignal;
        return {
          stream: new ReadableStream<LanguageModelV4StreamPart>({
            start(controller) {
              controller.enqueue({ type: 'stream-start', warnings: [] });
              signal?.addEventListener('abort', () => controller.error(signal.reason), { once: true });
            },
          }),
        };
      }
      return { stream: simulateReadableStream({ chunks: parts(turn), initialDelayInMs: null, chunkDelayInMs: null }) };
    },
  });
}
