import type { Logger } from 'pino';
import type { Mailbox } from '../mailbox/mailbox.js';
import { decodeMessage, isDecodeFailure } from '../protocol/codec.js';
import type { Message } from '../wire/model.js';
import { recordTaskMail } from './task-mail.js';
import type { TaskRegistry } from './task-registry.js';

/**
 * Rebuilds what an agent knows of the tasks it sent from what the post office holds — the mail is
 * the record, there is no second store. For task ids its registry does not know (the agent
 * restarted since it sent them), it finds each sent `TASK:` in the sent folder, opens the task,
 * and replays the task's thread: the ACK, STATUS, RESULT and ERROR that answered it (read or not),
 * and a CANCEL the agent sent. Lookups asked for at once share one walk of the sent folder.
 * @internal
 */
export class TaskRebuild {
  /** Task ids waiting for the next walk of the sent folder. */
  private wanted = new Set<string>();
  private walking: Promise<void> | undefined;

  constructor(
    private readonly mailbox: Mailbox,
    private readonly tasks: TaskRegistry,
    private readonly logs: { readonly log: Logger },
  ) {}

  /**
   * Rebuilds the records of `taskIds` the registry does not hold. Resolves once the post office
   * was asked (a task it has no TASK of stays unknown); never rejects: a failure is logged, and
   * whatever waits for the task waits for its answer as before.
   */
  recover(taskIds: readonly string[]): Promise<void> {
    for (const id of taskIds) if (!this.tasks.get(id, 'sent')) this.wanted.add(id);
    if (this.wanted.size === 0) return this.walking ?? Promise.resolve();
    this.walking ??= this.walk().finally(() => {
      this.walking = undefined;
    });
    return this.walking;
  }

  /** Walks the sent folder while ids are wanted (ids asked for during a walk get the next one). */
  private async walk(): Promise<void> {
    while (this.wanted.size > 0) {
      const ids = this.wanted;
      this.wanted = new Set();
      try {
        await this.rebuild(ids);
      } catch (err) {
        this.logs.log.warn({ err, tasks: ids.size }, 'could not rebuild sent tasks from the post office');
      }
    }
  }

  private async rebuild(ids: Set<string>): Promise<void> {
    const found: Message[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await this.mailbox.sent({ limit: 100, ...(cursor ? { cursor } : {}) });
      for (const m of page.messages) {
        const d = decodeMessage(m);
        if (!isDecodeFailure(d) && d.kind === 'task' && ids.has(d.taskId)) {
          found.push(m);
          ids.delete(d.taskId);
        }
      }
      if (!page.has_more || !page.cursor || ids.size === 0) break;
      cursor = page.cursor;
    }
    const threads = new Map<string, string[]>();
    for (const m of found) {
      const d = decodeMessage(m);
      if (isDecodeFailure(d) || d.kind !== 'task') continue;
      this.tasks.open({
        taskId: d.taskId,
        role: 'sent',
        name: d.name,
        peer: m.to_addresses[0] ?? '',
        threadId: m.thread_id,
        messageId: m.message_id,
      });
      threads.set(m.thread_id, [...(threads.get(m.thread_id) ?? []), d.taskId]);
    }
    for (const [threadId, taskIds] of threads) await this.replay(threadId, new Set(taskIds));
  }

  /** Applies the answers a thread holds to the tasks of `taskIds`. */
  private async replay(threadId: string, taskIds: Set<string>): Promise<void> {
    const thread = await this.mailbox.thread(threadId);
    for (const m of thread.messages) {
      const d = decodeMessage(m);
      if (isDecodeFailure(d) || !('taskId' in d) || !taskIds.has(d.taskId)) continue;
      const mine = m.from_address === this.mailbox.address;
      if (d.kind === 'cancel' && mine) this.tasks.update(d.taskId, 'sent', 'canceled');
      else if (!mine && d.kind !== 'task' && d.kind !== 'cancel') recordTaskMail(this.tasks, d);
    }
  }
}
