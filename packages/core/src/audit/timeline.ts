import { TaskState, UsageBody } from '../protocol/bodies.js';
import { parseSubject } from '../protocol/subject.js';
import type { Message, Thread } from '../wire/model.js';

const STATE_OF: Record<string, TaskState> = {
  task: 'submitted',
  ack: 'accepted',
  status: 'working',
  result: 'completed',
  error: 'failed',
  cancel: 'canceled',
};

/** One field of a JSON body, when it is there and passes `schema` (a STATUS's `state`, a RESULT's `usage`). */
function bodyField<T>(
  body: string | null,
  field: string,
  schema: { safeParse(v: unknown): { success: boolean; data?: T } },
) {
  try {
    const parsed = schema.safeParse((JSON.parse(body ?? '') as Record<string, unknown>)[field]);
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

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
  /** The state this message moves its task to (task mail only): TASK submitted, ACK accepted, … */
  state: TaskState | undefined;
  messageId: string;
  /** What the task spent on models, as its RESULT or ERROR reports it. */
  usage?: UsageBody;
};

/** A thread as a typed timeline, oldest first. */
export function timeline(thread: Thread | { messages: Message[] }): TimelineEntry[] {
  const start = thread.messages.length > 0 ? Date.parse((thread.messages[0] as Message).created_at) : 0;
  return thread.messages.map((m) => {
    const parsed = parseSubject(m.subject);
    // `Re: STATUS:…` answers a question (input-required): an answer, not a STATUS.
    const kind =
      parsed instanceof Error ? 'invalid' : parsed.reply && parsed.kind === 'status' ? 'answer' : parsed.kind;
    const taskId = parsed instanceof Error || !('taskId' in parsed) ? undefined : parsed.taskId;
    const usage = kind === 'result' || kind === 'error' ? bodyField(m.body_text, 'usage', UsageBody) : undefined;
    return {
      at: m.created_at,
      elapsedMs: Date.parse(m.created_at) - start,
      from: m.from_address,
      to: [...m.to_addresses, ...m.cc_addresses],
      subject: m.subject,
      kind,
      taskId,
      state: kind === 'status' ? (bodyField(m.body_text, 'state', TaskState) ?? 'working') : STATE_OF[kind],
      messageId: m.message_id,
      ...(usage ? { usage } : {}),
    };
  });
}

/** `1234 tokens (1000 in, 234 out), $0.0012`. */
const formatUsage = (u: UsageBody): string =>
  `${u.total_tokens} tokens (${u.input_tokens} in, ${u.output_tokens} out)${u.cost_usd !== undefined ? `, $${u.cost_usd.toFixed(4)}` : ''}`;

/**
 * Renders a timeline for a terminal: `+elapsed  from → to  subject  (task state)`, names without
 * the domain.
 */
export function renderTimelineText(entries: readonly TimelineEntry[]): string {
  const name = (a: string) => a.split('@')[0] ?? a;
  const rows = entries.map((e) => [
    `+${e.elapsedMs}ms`,
    `${name(e.from)} → ${e.to.map(name).join(', ')}`,
    e.subject,
    `${e.state ? `(${e.state})` : ''}${e.usage ? ` [${formatUsage(e.usage)}]` : ''}`,
  ]);
  const w = [0, 1, 2].map((i) => Math.max(0, ...rows.map((r) => (r[i] as string).length)));
  return rows
    .map(([t, who, subject, state]) =>
      `${(t as string).padStart(w[0] as number)}  ${(who as string).padEnd(w[1] as number)}  ${state ? `${(subject as string).padEnd(w[2] as number)}  ${state}` : subject}`.trimEnd(),
    )
    .join('\n');
}
