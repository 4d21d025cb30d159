import type { Message, Thread } from './mail/model.js';
import { parseSubject } from './protocol/subject.js';

/** One line of a thread's timeline. */
export type TimelineEntry = {
  at: string;
  /** Milliseconds since the thread's first message. */
  elapsedMs: number;
  from: string;
  to: string[];
  subject: string;
  kind: string;
  taskId: string | undefined;
  messageId: string;
};

/** A thread as a typed timeline, oldest first. */
export function timeline(thread: Thread | { messages: Message[] }): TimelineEntry[] {
  const start = thread.messages.length > 0 ? Date.parse((thread.messages[0] as Message).created_at) : 0;
  return thread.messages.map((m) => {
    const parsed = parseSubject(m.subject);
    const kind = parsed instanceof Error ? 'invalid' : parsed.kind;
    const taskId = parsed instanceof Error || !('taskId' in parsed) ? undefined : parsed.taskId;
    return {
      at: m.created_at,
      elapsedMs: Date.parse(m.created_at) - start,
      from: m.from_address,
      to: [...m.to_addresses, ...m.cc_addresses],
      subject: m.subject,
      kind,
      taskId,
      messageId: m.message_id,
    };
  });
}

/** Renders a timeline for a terminal: `+elapsed  from → to  subject`, names without the domain. */
export function renderTimelineText(entries: readonly TimelineEntry[]): string {
  const name = (a: string) => a.split('@')[0] ?? a;
  const rows = entries.map((e) => [`+${e.elapsedMs}ms`, `${name(e.from)} → ${e.to.map(name).join(', ')}`, e.subject]);
  const w0 = Math.max(0, ...rows.map((r) => (r[0] as string).length));
  const w1 = Math.max(0, ...rows.map((r) => (r[1] as string).length));
  return rows.map((r) => `${(r[0] as string).padStart(w0)}  ${(r[1] as string).padEnd(w1)}  ${r[2]}`).join('\n');
}
