import type { AgentActions, TaskSpec } from '../agents/agent.js';
import { newTaskId } from '../agents/agent-actions.js';
import { TaskFailedError, ValidationError, WithdrawnError } from '../errors.js';
import { collabMail } from '../protocol/outgoing.js';
import { formatReplySubject } from '../protocol/subject.js';
import { TaskTimeoutError } from '../tasks/task-timeout-error.js';
import type { TaskOutcome } from '../tasks/types.js';
import type { SendResult } from '../wire/model.js';

/** One assignment of a hub: which specialist gets which task. */
export type Assignment = { to: string; task: TaskSpec };

/**
 * Hub and spoke: delegates each assignment to its specialist (in the hub's current thread when
 * called with a handler context and `inThread`), and collects every outcome with one deadline.
 * The deadline covers the sends too: a TASK still waiting for quota when it passes is withdrawn
 * (never sent late), and the `TaskTimeoutError` names it in `unsent` beside the `outcomes` that
 * did come in time.
 */
export async function hubAndSpoke(
  agent: AgentActions,
  assignments: readonly Assignment[],
  options: { timeoutMs: number; inThread?: boolean },
): Promise<TaskOutcome[]> {
  const started = agent.scheduler.now();
  const deadline = new AbortController();
  const timer = agent.scheduler.schedule(() => deadline.abort(), options.timeoutMs);
  const taskIds = assignments.map((a) => a.task.taskId ?? newTaskId());
  const sends = await Promise.allSettled(
    assignments.map((a, i) =>
      agent.delegate(
        a.to,
        { ...a.task, taskId: taskIds[i] as string },
        { inThread: options.inThread ?? false, signal: deadline.signal },
      ),
    ),
  );
  timer.unsubscribe();
  const unsent: string[] = [];
  const sent: string[] = [];
  /** Withdrawn by `cancel(taskId)` while they waited for quota: canceled, never sent. */
  const canceled = new Set<string>();
  for (const [i, s] of sends.entries()) {
    const taskId = taskIds[i] as string;
    if (s.status === 'fulfilled') sent.push(taskId);
    else if (!(s.reason instanceof WithdrawnError)) throw s.reason;
    else if (deadline.signal.aborted) unsent.push(taskId);
    else canceled.add(taskId);
  }
  const inOrder = (answered: TaskOutcome[]): TaskOutcome[] => {
    const byId = new Map(answered.map((o) => [o.taskId, o]));
    return taskIds.flatMap((taskId) => {
      const o = canceled.has(taskId) ? { taskId, state: 'canceled' as const, from: undefined } : byId.get(taskId);
      return o ? [o] : [];
    });
  };
  const left = Math.max(0, options.timeoutMs - (agent.scheduler.now() - started));
  let outcomes: TaskOutcome[];
  try {
    outcomes = inOrder(sent.length > 0 ? await agent.collect(sent, { timeoutMs: left }) : []);
  } catch (err) {
    if (!(err instanceof TaskTimeoutError)) throw err;
    throw new TaskTimeoutError([...err.missing, ...unsent], options.timeoutMs, {
      outcomes: inOrder(err.outcomes),
      unsent,
    });
  }
  if (unsent.length > 0) throw new TaskTimeoutError(unsent, options.timeoutMs, { outcomes, unsent });
  return outcomes;
}

/** One stage of a pipeline: the agent, and the task it gets (its input is the previous output). */
export type PipelineStage = { to: string; name: string; description?: string };

/**
 * Runs stages in order, in one thread: stage n's TASK answers stage n-1's RESULT (`in_reply_to`),
 * with the previous output as its input. Resolves with the last output; a failed stage fails the
 * pipeline with `TaskFailedError` naming it.
 */
export async function pipeline(
  agent: AgentActions,
  stages: readonly PipelineStage[],
  input: unknown,
  options: { timeoutMs: number },
): Promise<{ output: unknown; threadId: string; outcomes: TaskOutcome[] }> {
  if (stages.length === 0) throw ValidationError.single(['stages'], 'a pipeline needs at least one stage');
  const outcomes: TaskOutcome[] = [];
  let value = input;
  let inReplyTo: string | undefined;
  let threadId = '';
  for (const stage of stages) {
    const sent = await agent.delegate(
      stage.to,
      { name: stage.name, description: stage.description ?? stage.name, input: value },
      inReplyTo ? { inReplyTo } : {},
    );
    threadId ||= sent.threadId;
    const [outcome] = await agent.collect([sent.taskId], options);
    const done = outcome as TaskOutcome;
    outcomes.push(done);
    if (done.state !== 'completed') {
      const why = done.state === 'failed' ? `${done.error.type}: ${done.error.message}` : 'canceled';
      throw new TaskFailedError('PipelineStageFailed', `stage "${stage.name}" (${stage.to}) ended: ${why}`);
    }
    value = done.result;
    inReplyTo = agent.tasks.get(sent.taskId)?.answerMessageId ?? sent.messageId;
  }
  return { output: value, threadId, outcomes };
}

/** Opens a shared thread: `[COLLAB] {topic}` to every participant. */
export function openSharedThread(
  agent: AgentActions,
  participants: readonly string[],
  topic: string,
  text: string,
): Promise<SendResult> {
  const others = participants.filter((p) => p !== agent.address);
  if (others.length === 0) throw ValidationError.single(['participants'], 'a shared thread needs someone else');
  return agent.sendRequest(collabMail(others, topic, text));
}

/** Contributes to a shared thread: to all its participants, in reply to its latest message. */
export async function contribute(agent: AgentActions, threadId: string, text: string): Promise<SendResult> {
  const thread = await agent.thread(threadId);
  const latest = thread.messages[thread.messages.length - 1];
  if (!latest) throw ValidationError.single(['threadId'], 'the thread has no message to answer');
  const to = thread.participant_addresses.filter((p) => p !== agent.address);
  return agent.send(to, formatReplySubject(thread.subject), text, { inReplyTo: latest.message_id });
}
