import {
  type Account,
  decisionOf,
  type Escalation,
  type InboxPage,
  type Message,
  type PostOffice,
  parseEscalationBody,
  parseSubject,
  type SentPage,
  TaskState,
  timeline,
} from '@mailroom/core';
import type { Principal } from './session.js';

// What the dashboard shows, read through the PostOffice contract (inbox and sent pages, threads,
// accounts): nothing here writes, and nothing marks mail read.

/** A post office that can list its accounts (SQLite and PostgreSQL can): the admin view needs it. */
export type AccountDirectory = { addresses(): Promise<string[]> };

/** Most messages read per mailbox (inbox, sent) for one view; past it the view says it is partial. */
export const MAX_MESSAGES_PER_BOX = 5000;

/** The addresses a principal sees: its own, or every account for the admin. */
export async function addressesOf(po: PostOffice, principal: Principal): Promise<string[]> {
  if (principal.kind === 'account') return [principal.address];
  const dir = po as PostOffice & Partial<AccountDirectory>;
  return typeof dir.addresses === 'function' ? dir.addresses() : [];
}

/** One message with the principal's mailboxes that hold it. */
export type Seen = { message: Message; owners: Set<string> };

/** The mail of a set of addresses, by id, oldest first. */
export type MailIndex = {
  addresses: string[];
  messages: Seen[];
  unread: Map<string, number>;
  /** A mailbox had more than {@link MAX_MESSAGES_PER_BOX}: the views show part of it. */
  partial: boolean;
};

export async function readMail(po: PostOffice, addresses: readonly string[]): Promise<MailIndex> {
  const byId = new Map<string, Seen>();
  const unread = new Map<string, number>();
  let partial = false;
  const add = (owner: string, messages: readonly Message[]) => {
    for (const m of messages) {
      const seen = byId.get(m.message_id);
      if (seen) seen.owners.add(owner);
      else byId.set(m.message_id, { message: m, owners: new Set([owner]) });
    }
  };
  /** Reads one mailbox (inbox or sent) page by page, up to {@link MAX_MESSAGES_PER_BOX}. */
  const readBox = async (
    owner: string,
    pageOf: (query: { limit: number; cursor?: string }) => Promise<InboxPage | SentPage>,
  ) => {
    let cursor: string | undefined;
    for (let n = 0; ; ) {
      const page = await pageOf({ limit: 100, ...(cursor ? { cursor } : {}) });
      if (cursor === undefined && 'unread_count' in page) unread.set(owner, page.unread_count);
      add(owner, page.messages);
      n += page.messages.length;
      if (!page.has_more || !page.cursor) break;
      if (n >= MAX_MESSAGES_PER_BOX) {
        partial = true;
        break;
      }
      cursor = page.cursor;
    }
  };
  for (const address of addresses) {
    await readBox(address, (query) => po.inbox(address, query));
    await readBox(address, (query) => po.sent(address, query));
  }
  const messages = [...byId.values()].sort(
    (a, b) =>
      a.message.created_at.localeCompare(b.message.created_at) ||
      a.message.message_id.localeCompare(b.message.message_id),
  );
  return { addresses: [...addresses], messages, unread, partial };
}

/** An account with its quota use, for the agents view. */
export type AgentRow = { address: string; account: Account; unread: number };

export async function agents(po: PostOffice, index: MailIndex): Promise<AgentRow[]> {
  const rows: AgentRow[] = [];
  for (const address of index.addresses) {
    rows.push({ address, account: await po.account(address), unread: index.unread.get(address) ?? 0 });
  }
  return rows;
}

/** A thread in the threads view. */
export type ThreadRow = {
  threadId: string;
  subject: string;
  participants: string[];
  count: number;
  lastAt: string;
  lastSubject: string;
};

/** The threads of the index, latest activity first; `query` keeps those whose subject, addresses or bodies contain it. */
export function threads(index: MailIndex, query = ''): ThreadRow[] {
  const q = query.trim().toLowerCase();
  const rows = new Map<string, ThreadRow & { text: string[] }>();
  for (const { message: m } of index.messages) {
    let row = rows.get(m.thread_id);
    if (!row) {
      row = {
        threadId: m.thread_id,
        subject: m.subject,
        participants: [],
        count: 0,
        lastAt: m.created_at,
        lastSubject: m.subject,
        text: [],
      };
      rows.set(m.thread_id, row);
    }
    row.count++;
    row.lastAt = m.created_at;
    row.lastSubject = m.subject;
    for (const a of [m.from_address, ...m.to_addresses, ...m.cc_addresses])
      if (!row.participants.includes(a)) row.participants.push(a);
    if (q) row.text.push(m.subject, m.body_text ?? '', m.body_html ?? '', m.from_address, ...m.to_addresses);
  }
  return [...rows.values()]
    .filter((r) => !q || r.text.some((t) => t.toLowerCase().includes(q)))
    .sort((a, b) => b.lastAt.localeCompare(a.lastAt))
    .map(({ text: _text, ...row }) => row);
}

/** The principal's address that can open a thread (a participant), if any. */
export function viewerOf(index: MailIndex, threadId: string): string | undefined {
  for (const { message, owners } of index.messages) {
    if (message.thread_id === threadId) return owners.values().next().value;
  }
  return undefined;
}

/** A task, as its mail tells it. */
export type TaskRow = {
  taskId: string;
  name: string;
  state: TaskState;
  requester: string | undefined;
  worker: string | undefined;
  threadId: string;
  updatedAt: string;
  lastSubject: string;
};

/** The order of the states in the tasks view: the protocol's own. */
export const STATES: readonly TaskState[] = TaskState.options;

/** Every task of the index with the state its latest task mail moved it to (TASK, ACK, STATUS, RESULT, ERROR, CANCEL). */
export function tasks(index: MailIndex): TaskRow[] {
  const messages = index.messages.map((s) => s.message);
  const entries = timeline({ messages });
  const rows = new Map<string, TaskRow>();
  entries.forEach((e, i) => {
    if (!e.taskId || !e.state) return;
    const m = messages[i] as Message;
    const key = `${m.thread_id}\u0000${e.taskId}`;
    let row = rows.get(key);
    if (!row) {
      row = {
        taskId: e.taskId,
        name: '',
        state: e.state,
        requester: undefined,
        worker: undefined,
        threadId: m.thread_id,
        updatedAt: e.at,
        lastSubject: e.subject,
      };
      rows.set(key, row);
    }
    if (e.kind === 'task') {
      const parsed = parseSubject(e.subject);
      row.name = !(parsed instanceof Error) && parsed.kind === 'task' ? parsed.name : '';
      row.requester = e.from;
      row.worker = e.to[0];
    }
    // A late ACK or STATUS does not take a finished task back.
    const finished = ['completed', 'failed', 'canceled', 'timed_out'].includes(row.state);
    if (!finished || e.kind === 'task' || ['completed', 'failed', 'canceled'].includes(e.state)) {
      row.state = e.state;
    }
    row.updatedAt = e.at;
    row.lastSubject = e.subject;
  });
  return [...rows.values()].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
}

/** An `ERROR:` mail: what an agent answers when it dead-letters a message or fails a task. */
export type DeadLetterRow = {
  message: Message;
  taskId: string | undefined;
  type: string;
  text: string;
};

export function deadLetters(index: MailIndex): DeadLetterRow[] {
  const rows: DeadLetterRow[] = [];
  for (const { message: m } of index.messages) {
    const parsed = parseSubject(m.subject);
    if (parsed instanceof Error || parsed.kind !== 'error') continue;
    let type = '';
    let text = '';
    try {
      const body = JSON.parse(m.body_text ?? '') as { error?: { type?: unknown; message?: unknown } };
      type = typeof body.error?.type === 'string' ? body.error.type : '';
      text = typeof body.error?.message === 'string' ? body.error.message : '';
    } catch {
      text = m.body_text ?? '';
    }
    rows.push({ message: m, taskId: parsed.taskId, type, text });
  }
  return rows.reverse();
}

/** An `[ESCALATION Ln]` mail nobody has answered with a decision yet. */
export type EscalationRow = {
  message: Message;
  /** The principal's address that received it: the answer goes out from it. */
  recipient: string;
  level: number;
  errorType: string;
  escalation: Escalation | undefined;
};

export function waitingEscalations(index: MailIndex): EscalationRow[] {
  const rows: EscalationRow[] = [];
  const all = index.messages.map((s) => s.message);
  index.messages.forEach(({ message: m }, i) => {
    const parsed = parseSubject(m.subject);
    if (parsed instanceof Error || parsed.kind !== 'escalation' || parsed.reply) return;
    const recipient = [...m.to_addresses, ...m.cc_addresses].find((a) => index.addresses.includes(a));
    if (!recipient) return;
    const later = all.slice(i + 1).filter((x) => x.thread_id === m.thread_id);
    // Answered: its recipient replied in the thread, or anyone but the escalating side decided.
    const answered = later.some(
      (x) => x.from_address === recipient || (x.from_address !== m.from_address && decisionOf(x) !== undefined),
    );
    if (answered) return;
    const body = parseEscalationBody(m.body_text, { level: parsed.level, from: m.from_address });
    rows.push({
      message: m,
      recipient,
      level: parsed.level,
      errorType: parsed.errorType,
      escalation: body instanceof Error ? undefined : body,
    });
  });
  return rows.reverse();
}
