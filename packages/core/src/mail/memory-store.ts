import type { Message, SendResult } from './model.js';
import type { QuotaLimits, QuotaUsage } from './quota.js';
import { SkipList } from './skip-list.js';

// The records of the embedded post office: one stored message, one copy (entry) per account
// that sent or received it, per-account lists, and threads kept on their first message.

export type Stored = {
  id: string;
  /** The thread's first message (itself for a root): the thread id is derived from its id. */
  root: Stored | undefined;
  from: string;
  fromAgentId: string;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  bodyText: string | null;
  bodyHtml: string | null;
  inReplyTo: string | null;
  createdAt: string;
  /** The sender's copy. */
  out: Entry;
  /** The first recipient's copy, and the others' (most mail has one recipient). */
  in0: Entry | undefined;
  insMore: Entry[] | undefined;
  /** On a thread's first message, once the thread has more than one message. */
  thread: ThreadState | undefined;
};

export type Entry = {
  stored: Stored;
  owner: Box;
  direction: 'inbound' | 'outbound';
  readAt: string | null;
  starred: boolean;
  deleted: boolean;
  /** Positions in the lists that hold this entry, to hide it there. */
  pos: number;
  senderPos: number;
};

export type SenderLists = { all: SkipList<Entry>; unread: SkipList<Entry> };

export type Box = {
  address: string;
  agentId: string;
  createdAt: string;
  limits: QuotaLimits;
  usage: QuotaUsage;
  totalSent: number;
  totalReceived: number;
  unread: number;
  inbox: SkipList<Entry>;
  unreadInbox: SkipList<Entry>;
  /** Built on the first `from_address` query for a sender, then kept up to date. */
  bySender: Map<string, SenderLists>;
  sent: SkipList<Entry>;
  idempotency: Map<string, SendResult>;
};

export type ThreadState = {
  messages: Stored[];
  /** Senders, to and cc: seen by every participant. */
  participants: string[];
  /** Bcc recipients: participants who appear only in their own view. */
  hidden: string[];
};

export const addOnce = (list: string[], items: readonly string[]) => {
  for (const a of items) if (!list.includes(a)) list.push(a);
};

export const shown = (e: Entry) => !e.deleted;
export const unreadShown = (e: Entry) => !e.deleted && e.readAt === null;

export const rootOf = (m: Stored): Stored => m.root ?? m;
export const threadIdOf = (m: Stored): string => `thr_${rootOf(m).id.slice(4)}`;
export const insOf = (m: Stored): Entry[] => (m.in0 ? [m.in0, ...(m.insMore ?? [])] : []);

/** A thread as stored on its first message (derived while it has only that one). */
export function threadOf(root: Stored): ThreadState {
  return root.thread ?? { messages: [root], participants: [root.from, ...root.to, ...root.cc], hidden: root.bcc };
}

/** A message as the owner of `entry` sees it. */
export function viewOf(entry: Entry): Message {
  const m = entry.stored;
  return {
    message_id: m.id,
    thread_id: threadIdOf(m),
    from_address: m.from,
    from_agent_id: m.fromAgentId,
    to_addresses: [...m.to],
    cc_addresses: [...m.cc],
    subject: m.subject,
    body_text: m.bodyText,
    body_html: m.bodyHtml,
    direction: entry.direction,
    delivery_type: 'internal',
    status: 'delivered',
    has_attachments: false,
    attachments: [],
    in_reply_to: m.inReplyTo,
    read_at: entry.readAt,
    starred: entry.starred,
    created_at: m.createdAt,
    delivered_at: m.createdAt,
  };
}

/** A fresh copy of a message for `owner`. */
export function newEntry(stored: Stored, owner: Box, direction: Entry['direction']): Entry {
  return { stored, owner, direction, readAt: null, starred: false, deleted: false, pos: 0, senderPos: -1 };
}

export function deliver(box: Box, stored: Stored): void {
  const entry = newEntry(stored, box, 'inbound');
  if (!stored.in0) {
    stored.in0 = entry;
  } else {
    stored.insMore ??= [];
    stored.insMore.push(entry);
  }
  entry.pos = box.inbox.push(entry);
  box.unreadInbox.push(entry);
  const lists = box.bySender.get(stored.from);
  if (lists) {
    entry.senderPos = lists.all.push(entry);
    lists.unread.push(entry);
  }
  box.unread += 1;
  box.totalReceived += 1;
}

export function senderLists(box: Box, from: string): SenderLists {
  let lists = box.bySender.get(from);
  if (!lists) {
    lists = { all: new SkipList(shown), unread: new SkipList(unreadShown) };
    for (const entry of box.inbox.items) {
      if (entry.stored.from !== from) continue;
      entry.senderPos = lists.all.push(entry);
      lists.unread.push(entry);
    }
    box.bySender.set(from, lists);
  }
  return lists;
}

export function setRead(box: Box, entry: Entry, read: boolean, at: string): void {
  const lists = box.bySender.get(entry.stored.from);
  if (read) {
    entry.readAt = at;
    box.unread -= 1;
    box.unreadInbox.hide(entry.pos);
    lists?.unread.hide(entry.senderPos);
  } else {
    entry.readAt = null;
    box.unread += 1;
    box.unreadInbox.rebuild();
    lists?.unread.rebuild();
  }
}
