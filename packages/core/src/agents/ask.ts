import type { Logger } from 'pino';
import { TaskCanceledError, TaskFailedError, ValidationError } from '../errors.js';
import {
  decodeTaskData,
  parseEither,
  type TaskContract,
  type TaskInput,
  type TaskOutput,
} from '../protocol/task-contract.js';
import type { TaskRegistry } from '../tasks/task-registry.js';
import type { TaskOutcome } from '../tasks/types.js';
import { onAbort } from '../time/on-abort.js';
import type { MailSpan } from '../tracing/spans.js';
import type { AskOptions, TaskSpec } from './agent.js';

/** What `ask` needs of an agent's actions. */
type Asker = {
  readonly tasks: TaskRegistry;
  delegateIn(
    to: string,
    task: TaskSpec,
    inReplyTo: string | undefined,
    signal?: AbortSignal,
    parent?: MailSpan,
  ): Promise<{ taskId: string }>;
  collect(taskIds: readonly string[], options: { timeoutMs: number }): Promise<TaskOutcome[]>;
  cancel(taskId: string, reason?: string): Promise<unknown>;
};

/**
 * `ask`: checks the input against the contract (nothing is sent when it fails), sends the TASK
 * (unless `options.taskId` names one this agent sent already — after a restart it is rebuilt from
 * the post office, not sent again), waits for its answer and decodes it by the contract.
 */
export async function askTask<C extends TaskContract>(
  actions: Asker,
  request: {
    to: string;
    contract: C;
    input: TaskInput<C>;
    options: AskOptions;
    /** Rebuilds sent tasks the registry does not know from the post office. */
    recover: (taskIds: readonly string[]) => Promise<void>;
    log: Logger;
    /** The span of the handler that asks (tracing on). */
    parent?: MailSpan | undefined;
  },
): Promise<TaskOutput<C>> {
  const { to, contract, input, options } = request;
  const checked = await parseEither(contract.input, input);
  if (!checked.success) throw ValidationError.fromZod(`input of task ${contract.name}`, checked.error);
  let taskId = options.taskId;
  if (taskId !== undefined && !actions.tasks.get(taskId, 'sent')) await request.recover([taskId]);
  if (taskId === undefined || !actions.tasks.get(taskId, 'sent')) {
    const spec: TaskSpec = {
      name: contract.name,
      description: contract.description,
      input,
      ...(taskId !== undefined ? { taskId } : {}),
    };
    ({ taskId } = await actions.delegateIn(to, spec, options.inReplyTo, options.signal, request.parent));
  }
  const id = taskId;
  const answered = actions.collect([id], { timeoutMs: options.timeoutMs });
  // Aborting the ask cancels the task: the CANCEL moves it to canceled, which ends the wait.
  const unlisten = options.signal
    ? onAbort(options.signal, () => {
        actions.cancel(id, 'the ask was aborted').catch((err: unknown) => {
          request.log.warn({ err, task_id: id }, 'could not send the CANCEL of an aborted ask; it ends here');
          actions.tasks.update(id, 'sent', 'canceled');
        });
      })
    : undefined;
  let outcome: TaskOutcome | undefined;
  try {
    [outcome] = await answered;
  } finally {
    unlisten?.();
  }
  if (outcome?.state === 'completed') {
    const decoded = await decodeTaskData(contract, contract.output, outcome.result, 'InvalidOutput');
    if (!decoded.ok) throw decoded.error;
    return decoded.value as TaskOutput<C>;
  }
  if (outcome?.state === 'failed') throw new TaskFailedError(outcome.error.type, outcome.error.message);
  throw new TaskCanceledError(id, `task ${id} (${contract.name}) was canceled`);
}
