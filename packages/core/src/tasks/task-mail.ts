import type { ProtocolMessage } from '../protocol/codec.js';
import type { TaskRegistry } from './task-registry.js';

/**
 * Records what a piece of task mail says in the registry of the agent that received it: a TASK
 * opens a received task; ACK, STATUS, RESULT and ERROR move a sent one; CANCEL cancels a received
 * one. Returns 'canceled' when a CANCEL took effect (the caller aborts the handler).
 */
export function recordTaskMail(tasks: TaskRegistry, d: ProtocolMessage): 'canceled' | undefined {
  const from = d.message.from_address;
  switch (d.kind) {
    case 'task':
      tasks.open({
        taskId: d.taskId,
        role: 'received',
        name: d.name,
        peer: from,
        threadId: d.message.thread_id,
        messageId: d.message.message_id,
        ...(d.body.ack !== true ? { quiet: true } : {}),
      });
      break;
    case 'ack':
      tasks.answer(d.taskId, 'accepted');
      break;
    case 'status':
      tasks.answer(d.taskId, d.body.state === 'input-required' ? 'input-required' : 'working', {
        ...(d.body.note !== undefined ? { note: d.body.note } : {}),
        ...(d.body.progress !== undefined ? { progress: d.body.progress } : {}),
      });
      break;
    case 'result':
    case 'error': {
      const answer = {
        answeredBy: from,
        answerMessageId: d.message.message_id,
        ...(d.body.usage ? { usage: d.body.usage } : {}),
      };
      if (d.kind === 'result') tasks.answer(d.taskId, 'completed', { ...answer, result: d.body.result });
      else tasks.answer(d.taskId, 'failed', { ...answer, error: d.body.error });
      break;
    }
    case 'cancel':
      return tasks.update(d.taskId, 'received', 'canceled') ? 'canceled' : undefined;
  }
  return undefined;
}
