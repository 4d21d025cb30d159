import { decodeMessage, isDecodeFailure, type Thread } from '@mailroom/core';
import type { ModelMessage } from 'ai';

/** A rough token count (four characters a token): enough to keep a prompt under a budget. */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

const json = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** How a task reads to the model. */
export const taskPrompt = (name: string, description: string, input: unknown): string =>
  `Task "${name}": ${description}\nInput:\n${json(input ?? null)}`;

/**
 * The earlier exchange of a thread as model messages: each TASK this agent took there (the
 * user's turn) and its RESULT (the model's), oldest first, before `before` (the task being
 * answered). The oldest turns go first when they exceed `maxTokens`.
 */
export function threadMemory(thread: Thread, self: string, before: string, maxTokens: number): ModelMessage[] {
  const turns: ModelMessage[] = [];
  for (const message of thread.messages) {
    if (message.message_id === before) break;
    const d = decodeMessage(message);
    if (isDecodeFailure(d)) continue;
    if (d.kind === 'task' && message.to_addresses.includes(self)) {
      turns.push({ role: 'user', content: taskPrompt(d.name, d.body.description, d.body.input) });
    } else if (d.kind === 'result' && message.from_address === self) {
      turns.push({ role: 'assistant', content: json(d.body.result) });
    }
  }
  let tokens = 0;
  let keep = turns.length;
  while (keep > 0) {
    const cost = estimateTokens(String(turns[keep - 1]?.content));
    if (tokens + cost > maxTokens) break;
    tokens += cost;
    keep--;
  }
  // A memory starts with a user turn.
  const kept = turns.slice(keep);
  while (kept[0]?.role === 'assistant') kept.shift();
  return kept;
}
