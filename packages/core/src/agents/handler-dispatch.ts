import type { Logger } from 'pino';
import {
  type AnsweredTask,
  type DecodeFailure,
  decodeMessage,
  isDecodeFailure,
  type ProtocolMessage,
} from '../protocol/codec.js';
import { DECISIONS, type EscalationDecision } from '../protocol/decision.js';
import { ackMail, decisionMail, errorMail, type OutgoingMail, resultMail } from '../protocol/outgoing.js';
import { decodeTaskData } from '../protocol/task-contract.js';
import { recordTaskMail } from '../tasks/task-mail.js';
import type { TaskRegistry } from '../tasks/task-registry.js';
import { onAbort } from '../time/on-abort.js';
import { type MailSpan, startDelivery, startProcess, traceFieldsOf } from '../tracing/spans.js';
import type { Message } from '../wire/model.js';
import { type Agent, type Task, typedHandlerOf } from './agent.js';
import type { Actions } from './agent-actions.js';
import { MessageContext } from './message-context.js';

/** A message as the host hands it to its handler: the mail and what its subject and body say. */
export type Incoming = { message: Message; decoded: ProtocolMessage | DecodeFailure };

/** What a handler run needs from the agent it runs in. */
export type DispatchEnv = {
  agent: Agent;
  actions: Actions;
  tasks: TaskRegistry;
  /** Aborted when the agent stops. */
  stopped: AbortSignal;
  /** The agent's logger (made on first use). */
  logs: { readonly log: Logger };
  /** Send `ACK:` when a task is taken. */
  ack: boolean;
  /** Aborts a running task's handler (CANCEL, stop): one controller per task in progress. */
  controllers: Map<string, AbortController>;
};

/**
 * received: a page of arriving mail, decoded (`answered` finds the sent task a reply that names
 * none answers). Task states (for collect) and CANCEL take effect here, at once, not behind a busy
 * handler; the host then puts each item in its lane.
 */
export function receive(env: DispatchEnv, messages: Message[], answered: AnsweredTask): Incoming[] {
  const items: Incoming[] = messages.map((message) => ({ message, decoded: decodeMessage(message, answered) }));
  const log = env.logs.log;
  if (log.isLevelEnabled('debug')) {
    for (const { message: m, decoded: d } of items) {
      const task_id = 'taskId' in d ? d.taskId : undefined;
      log.debug({ message_id: m.message_id, from: m.from_address, kind: d.kind, task_id }, 'message received');
    }
  }
  for (const { message, decoded: d } of items) {
    env.actions.heard(message);
    if (isDecodeFailure(d)) continue;
    if (recordTaskMail(env.tasks, d) === 'canceled' && d.kind === 'cancel') {
      env.controllers.get(d.taskId)?.abort(d.body.reason ?? 'canceled');
    }
  }
  return items;
}

/**
 * Whether a message is an answer to this agent's own task, or a CANCEL: the kinds of mail that pass
 * the work waiting in the lanes (and are still handled after a stop).
 */
export function isUrgent(item: Incoming): boolean {
  const d = item.decoded;
  if (isDecodeFailure(d)) return false;
  const kind = d.kind;
  return kind === 'ack' || kind === 'status' || kind === 'result' || kind === 'error' || kind === 'cancel';
}

/** What `runHandler` gives back: the answer at once when the handler returned synchronously. */
export type HandlerOutcome = OutgoingMail | undefined | Promise<OutgoingMail | undefined>;

/** Whether a handler's return value is a promise (or any thenable) to wait for. */
export const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  v !== null &&
  (typeof v === 'object' || typeof v === 'function') &&
  typeof (v as { then?: unknown }).then === 'function';

/** Waits for a handler's promise, if it gave one; no answer either way. */
const noAnswer = (ran: unknown): undefined | Promise<undefined> =>
  isThenable(ran) ? Promise.resolve(ran).then(() => undefined) : undefined;

/**
 * Runs the agent's handler for one message (the `attempt`-th time) and returns the answer to send,
 * if any: a task's RESULT, a decision, or an ERROR for mail that does not decode. It sends nothing
 * itself but a task's ACK; replying, marking read and retrying are the host's. `span` (tracing on)
 * is the handler's span: the answers carry its trace context, its context's delegates are its children.
 *
 * A handler that returns synchronously is answered synchronously (no promise, no microtask: most
 * plain-mail handlers), and one that throws synchronously throws out of here; a handler that
 * returns a promise makes the outcome a promise. The one place a handler is called.
 */
export function runHandler(env: DispatchEnv, item: Incoming, attempt: number, span?: MailSpan): HandlerOutcome {
  const { message, decoded: d } = item;
  if (isDecodeFailure(d)) {
    env.logs.log.warn(
      { message_id: message.message_id, subject: message.subject, err: d.error },
      'undecodable message',
    );
    if (d.kind === 'error') return undefined;
    return errorMail({ message }, d.taskId, { type: 'ProtocolError', message: d.error.message }, traceFieldsOf(span));
  }
  if (d.kind === 'task') return runTask(env, d, attempt, span);
  const ctx = new MessageContext(
    env.actions,
    message,
    env.stopped,
    env.logs,
    'taskId' in d ? d.taskId : undefined,
    span,
  );
  const from = message.from_address;
  const { agent } = env;
  switch (d.kind) {
    case 'result':
      return noAnswer(agent.onResult({ taskId: d.taskId, body: d.body, from, message }, ctx));
    case 'error':
      return noAnswer(agent.onError({ taskId: d.taskId, body: d.body, from, message }, ctx));
    case 'status':
      return noAnswer(agent.onStatus({ taskId: d.taskId, body: d.body, from, message }, ctx));
    case 'ack':
      return noAnswer(agent.onAck({ taskId: d.taskId, body: d.body, from, message }, ctx));
    case 'cancel':
      return noAnswer(agent.onCancel({ taskId: d.taskId, body: d.body, from, message }, ctx));
    case 'escalation': {
      // An agent serving as a level of a chain answers with its decision, sent back in the thread.
      const decided = agent.onEscalation({ ...d.escalation, errorType: d.errorType }, ctx);
      return isThenable(decided)
        ? Promise.resolve(decided).then((decision) => decisionAnswer(message, decision))
        : decisionAnswer(message, decided);
    }
    default:
      return noAnswer(agent.onMessage(message, ctx));
  }
}

function decisionAnswer(message: Message, decision: unknown): OutgoingMail | undefined {
  if (typeof decision !== 'string' || !(DECISIONS as readonly string[]).includes(decision)) return undefined;
  return decisionMail(message, decision as EscalationDecision);
}

async function runTask(
  env: DispatchEnv,
  d: Extract<ProtocolMessage, { kind: 'task' }>,
  attempt: number,
  span: MailSpan | undefined,
): Promise<OutgoingMail | undefined> {
  const { message, taskId, body } = d;
  const { tasks } = env;
  const canceled = () => tasks.get(taskId, 'received')?.state === 'canceled';
  if (canceled()) return undefined;
  // A typed task is decoded at the boundary: an input that fails its contract is answered with
  // ERROR (InvalidInput, naming the zod issues) before any ACK, and its handler never runs.
  const typed = typedHandlerOf(env.agent, d.name);
  let input: unknown = body.input;
  if (typed) {
    const decoded = await decodeTaskData(typed.contract, typed.contract.input, body.input, 'InvalidInput');
    if (!decoded.ok) throw decoded.error;
    input = decoded.value;
  }
  const controller = new AbortController();
  // One listener on the agent's stop signal however many tasks run (no MaxListenersExceededWarning).
  const unlisten = onAbort(env.stopped, () => controller.abort('runtime stopping'));
  env.controllers.set(taskId, controller);
  try {
    // ACK only a requester that reads it (its TASK says `ack: true`): a client of the API on another
    // stack takes any mail naming the task id as the task's answer (docs/interop.md, interop rules).
    if (env.ack && body.ack === true && attempt === 1) {
      await env.actions.sendRequest(ackMail(message, taskId, traceFieldsOf(span)));
      tasks.update(taskId, 'received', 'accepted');
    }
    tasks.update(taskId, 'received', 'working');
    const task: Task = {
      id: taskId,
      name: d.name,
      description: body.description,
      input: body.input,
      deadline: body.deadline,
      callback: body.callback,
      callbackSubject: body.callback_subject,
      from: message.from_address,
      message,
    };
    const ctx = new MessageContext(env.actions, message, controller.signal, env.logs, taskId, span);
    let result: unknown;
    try {
      if (!typed) result = await env.agent.onTask(task, ctx);
      else {
        // The output goes out as the handler gave it, once it passes its schema (the requester decodes it).
        result = await typed.fn(input, ctx, task);
        const out = await decodeTaskData(typed.contract, typed.contract.output, result, 'InvalidOutput');
        if (!out.ok) throw out.error;
      }
    } catch (err) {
      if (canceled()) return undefined;
      throw err;
    }
    if (canceled()) return undefined;
    tasks.update(taskId, 'received', 'completed', { result });
    return resultMail(
      { message, callback: body.callback, callbackSubject: body.callback_subject },
      taskId,
      result,
      traceFieldsOf(span),
    );
  } finally {
    env.controllers.delete(taskId);
    unlisten();
  }
}

/** Tracing on: the `receive` span of one delivery to `agent`, continuing the trace the mail carries. */
export function deliverySpan(agent: string, { message, decoded: d }: Incoming): MailSpan | undefined {
  if (isDecodeFailure(d)) return startDelivery(agent, message, { kind: 'undecodable', taskId: d.taskId }, undefined);
  const taskId = 'taskId' in d ? d.taskId : undefined;
  return startDelivery(agent, message, { kind: d.kind, taskId }, 'body' in d ? d.body : undefined);
}

/** Tracing on: the handler's `process` span, under its delivery's; its delegates and answers carry its context. */
export function processSpan(agent: string, { decoded: d }: Incoming, delivery: MailSpan, attempt: number) {
  const kind = isDecodeFailure(d) ? 'undecodable' : d.kind;
  const taskId = isDecodeFailure(d) ? d.taskId : 'taskId' in d ? d.taskId : undefined;
  const taskName = !isDecodeFailure(d) && d.kind === 'task' ? d.name : undefined;
  return startProcess(agent, delivery, { kind, taskId, taskName, attempt });
}
