import { MailroomError } from '../errors.js';
import type { TaskOutcome } from './types.js';

/**
 * Tasks did not finish in time. `missing` names the task ids without an answer (`unsent`: those of
 * them whose TASK never went out, withdrawn while it waited for quota); `outcomes` holds the
 * answers that did come in time, so a deadline never loses them.
 */
export class TaskTimeoutError extends MailroomError<'task_timeout'> {
  readonly missing: string[];
  readonly unsent: string[];
  readonly outcomes: TaskOutcome[];
  constructor(missing: string[], timeoutMs: number, more: { outcomes?: TaskOutcome[]; unsent?: string[] } = {}) {
    const unsent = more.unsent ?? [];
    super(
      'task_timeout',
      `no answer within ${timeoutMs} ms for task(s): ${missing.join(', ')}${unsent.length > 0 ? ` (${unsent.length} never sent: no quota before the deadline)` : ''}`,
    );
    this.missing = missing;
    this.unsent = unsent;
    this.outcomes = more.outcomes ?? [];
  }
}
