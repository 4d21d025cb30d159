import type { Message } from '../wire/model.js';

/** What an escalation level can answer. */
export type EscalationDecision = 'retry' | 'skip' | 'restart' | 'stop';
export const DECISIONS: readonly EscalationDecision[] = ['retry', 'skip', 'restart', 'stop'];

/** The decision in a reply: `{ "decision": "retry" }`, or a first word among the four. */
export function decisionOf(message: Message): EscalationDecision | undefined {
  const text = (message.body_text ?? '').trim();
  try {
    const json = JSON.parse(text) as { decision?: unknown };
    if (typeof json.decision === 'string' && (DECISIONS as string[]).includes(json.decision))
      return json.decision as EscalationDecision;
  } catch {
    // not JSON: a person's reply
  }
  const word = /^[a-z]+/i.exec(text)?.[0]?.toLowerCase();
  return word && (DECISIONS as string[]).includes(word) ? (word as EscalationDecision) : undefined;
}
