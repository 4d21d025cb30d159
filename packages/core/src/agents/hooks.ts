import { ForbiddenError } from '../errors.js';
import type { SendRequest } from '../wire/model.js';

// Interception hooks: before a mail is sent and before a tool runs, a hook approves (returns
// nothing), changes (`{ change }`) or blocks (`{ block: reason }`) it — for approvals, redaction,
// budgets. Hooks run in order; each sees what the one before it let through.

/** What a hook decides: nothing approves, `{ change }` replaces the value, `{ block }` stops it. */
export type Interception<T> = undefined | { change: T } | { block: string };

/** Runs before every mail an agent sends (tasks, answers, ACKs, STATUS, CANCEL, plain mail). */
export type SendHook = (
  mail: SendRequest,
  context: { agent: string },
) => Interception<SendRequest> | Promise<Interception<SendRequest>>;

/** A tool call a model made, before it runs. */
export type ToolCall = { tool: string; toolCallId: string; input: unknown };

/** Runs before a tool runs (`@mailroom/ai`): `{ change }` replaces its input. */
export type ToolHook = (
  call: ToolCall,
  context: { agent: string; taskId: string | undefined },
) => Interception<unknown> | Promise<Interception<unknown>>;

/**
 * Runs `value` through `hooks` in order: the value the last one let through, or a
 * `ForbiddenError` naming the hook's reason when one blocks it.
 */
export async function intercept<T, C>(
  hooks: readonly ((value: T, context: C) => Interception<T> | Promise<Interception<T>>)[],
  value: T,
  context: C,
  what: string,
): Promise<T> {
  let current = value;
  for (const hook of hooks) {
    const verdict = await hook(current, context);
    if (verdict === undefined) continue;
    if ('block' in verdict) throw new ForbiddenError(`${what} was blocked: ${verdict.block}`);
    current = verdict.change;
  }
  return current;
}

/** A hook option as a list (one hook, several, or none). */
export const hookList = <H>(hooks: H | readonly H[] | undefined): readonly H[] =>
  hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks as H];
