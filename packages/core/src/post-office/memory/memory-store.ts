import type { Account, Message, SendResult } from '../../wire/model.js';
import type { QuotaLimits, QuotaUsage } from '../kit/quota.js';
import { accountView, messageView } from '../kit/views.js';
import { HideableList } from './hideable-list.js';

// The records of the embedded post office: one stored message, one copy (entry) per account
// that sent or received it, per-account lists, and threads kept on their first message. The
// stored message is itself its sender's copy (one object less per message for the collector).

export type Stored = Entry & {
  id: string;
  /** The thread's first message (itself for a root): the thread id is derived from its id. */
  root: Stored | undefined;
  /** On a thread's first message, its thread id once made. */
  threadId: string | undefined;
  from: string;
  fromAgentId: string;
  to: readonly string[];
  cc: readonly string[];
  bcc: readonly string[];
  subject: string;
  bodyText: string | null;
  bodyHtml: string | null;
  inReplyTo: string | null;
  createdAt: string;
  /** The first recipient's copy, and the others' (most mail has one recipient). */
  in0: Entry | undefined;
  insMore: Entry[] | undefined;
  /** On a thread's first message, once the thread has more than one message. */
  thread: ThreadState | undefined;
  /** Forgotten by the retention policy: no longer in any list, view or thread. */
  gone: boolean;
  /** The sender's idempotency key, so that forgetting the message forgets the key too. */
  idemKey: string | undefined;
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

export type SenderLists = { all: HideableList<Entry>; unread: HideableList<Entry> };

export type Box = {
  address: string;
  agentId: string;
  /** `[address]`: the `to` of mail sent to this account alone (shared, never changed). */
  self: readonly string[];
  createdAt: string;
  limits: QuotaLimits;
  usage: QuotaUsage;
  totalSent: number;
  totalReceived: number;
  unread: number;
  inbox: HideableList<Entry>;
  unreadInbox: HideableList<Entry>;
  /** Built on the first `from_address` query for a sender, then kept up to date. */
  bySender: Map<string, SenderLists>;
  sent: HideableList<Entry>;
  idempotency: Map<string, SendResult>;
};

export type ThreadState = {
  messages: Stored[];
  /** Senders, to and cc: seen by every participant. */
  participants: string[];
  /** Bcc recipients: participants who appear only in their own view. */
  hidden: string[];
  /** Messages of `messages` that were forgotten (cut out once they are half of it). */
  gone: number;
};

export const addOnce = (list: string[], items: readonly string[]) => {
  for (const a of items) if (!list.includes(a)) list.push(a);
};

export const shown = (e: Entry) => !e.deleted;
export const unreadShown = (e: Entry) => !e.deleted && e.readAt === null;

export const rootOf = (m: Stored): Stored => m.root ?? m;
/**
 * The thread id, made once per thread: views and lanes share one string, made flat (`join`, not a
 * template: a concatenation keeps its parts alive beside the copy a lookup makes).
 */
export const threadIdOf = (m: Stored): string => {
  const root = rootOf(m);
  root.threadId ??= ['thr_', root.id.slice(4)].join('');
  return root.threadId;
};
export const insOf = (m: Stored): Entry[] => (m.in0 ? [m.in0, ...(m.insMore ?? [])] : []);

/** Whether `address` sent or received this message (bcc included). */
export const addressedTo = (m: Stored, address: string): boolean =>
  m.from === address || m.to.includes(address) || m.cc.includes(address) || m.bcc.includes(address);

/** A thread as stored on its first message (derived while it has only that one). */
/** A reply joins its root's thread: the thread is made on the first reply; senders, to and cc are seen, bcc hidden. */
export function joinThread(root: Stored, reply: Stored): void {
  root.thread ??= {
    messages: [root],
    participants: [root.from, ...root.to, ...root.cc],
    hidden: [...root.bcc],
    gone: 0,
  };
  root.thread.messages.push(reply);
  addOnce(root.thread.participants, [reply.from]);
  addOnce(root.thread.participants, reply.to);
  addOnce(root.thread.participants, reply.cc);
  addOnce(root.thread.hidden, reply.bcc);
}

export function threadOf(root: Stored): ThreadState {
  return (
    root.thread ?? {
      messages: [root],
      participants: [root.from, ...root.to, ...root.cc],
      hidden: root.bcc as string[],
      gone: 0,
    }
  );
}

/** A message as the owner of `entry` sees it. */
export function viewOf(entry: Entry): Message {
  const m = entry.stored;
  return messageView({
    id: m.id,
    threadId: threadIdOf(m),
    from: m.from,
    fromAgentId: m.fromAgentId,
    to: m.to,
    cc: m.cc,
    subject: m.subject,
    bodyText: m.bodyText,
    bodyHtml: m.bodyHtml,
    inReplyTo: m.inReplyTo,
    createdAt: m.createdAt,
    direction: entry.direction,
    readAt: entry.readAt,
    starred: entry.starred,
  });
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
    lists = { all: new HideableList(shown), unread: new HideableList(unreadShown) };
    for (const entry of box.inbox.values()) {
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

/** Every recipient read or deleted its copy: nobody still needs the message. */
export function finished(stored: Stored): boolean {
  const unread = (e: Entry) => !e.deleted && e.readAt === null;
  if (stored.in0 && unread(stored.in0)) return false;
  if (stored.insMore) for (const e of stored.insMore) if (unread(e)) return false;
  return true;
}

/** Takes one copy out of every list of its owner, for good. */
function dropEntry(e: Entry): void {
  const box = e.owner;
  if (!e.deleted) hideCopy(box, e);
  if (e.direction === 'outbound') {
    box.sent.drop(e.pos);
    return;
  }
  box.inbox.drop(e.pos);
  box.unreadInbox.drop(e.pos);
  const lists = box.bySender.get(e.stored.from);
  if (lists && e.senderPos >= 0) {
    lists.all.drop(e.senderPos);
    lists.unread.drop(e.senderPos);
  }
}

/**
 * Forgets a message: out of every list, view and thread, and its idempotency key with it. A
 * thread's first message stays findable (not visible) while the thread has other messages.
 */
export function forget(stored: Stored, messages: { delete(id: string): void }): void {
  stored.gone = true;
  dropEntry(stored);
  if (stored.in0) dropEntry(stored.in0);
  if (stored.insMore) for (const e of stored.insMore) dropEntry(e);
  const idempotency = stored.owner.idempotency;
  if (stored.idemKey !== undefined && idempotency.get(stored.idemKey)?.message_id === stored.id) {
    idempotency.delete(stored.idemKey);
  }
  const root = rootOf(stored);
  const thread = root.thread;
  if (!thread) {
    messages.delete(stored.id);
    return;
  }
  thread.gone += 1;
  const live = thread.messages.length - thread.gone;
  if (stored !== root) messages.delete(stored.id);
  if (live === 0) messages.delete(root.id);
  if (thread.gone * 2 > thread.messages.length) {
    thread.messages = thread.messages.filter((m) => !m.gone);
    thread.gone = 0;
  }
}

/** The copy of a message that `box` holds: received (preferred) or sent. */
export function copyOf(stored: Stored, box: Box): Entry | undefined {
  if (stored.in0?.owner === box) return stored.in0;
  if (stored.insMore) for (const e of stored.insMore) if (e.owner === box) return e;
  return stored.owner === box ? stored : undefined;
}

/** A message of a thread as `viewer` sees it: its own copy, or one made up for the view. */
export function viewFor(stored: Stored, viewer: Box): Message {
  const own = copyOf(stored, viewer);
  if (own) return viewOf(own);
  return viewOf({ ...newEntry(stored, viewer, stored.from === viewer.address ? 'outbound' : 'inbound'), pos: -1 });
}

/** Deletes one copy for its owner: it leaves every list (the message stays for the others). */
export function hideCopy(box: Box, entry: Entry): void {
  entry.deleted = true;
  if (entry.direction === 'outbound') {
    box.sent.hide(entry.pos);
    return;
  }
  if (entry.readAt === null) box.unread -= 1;
  box.inbox.hide(entry.pos);
  box.unreadInbox.hide(entry.pos);
  const lists = box.bySender.get(entry.stored.from);
  lists?.all.hide(entry.senderPos);
  lists?.unread.hide(entry.senderPos);
}

/** The account of `box` as the API shows it. */
export function accountOf(box: Box, now: number): Account {
  return accountView(
    {
      address: box.address,
      createdAt: box.createdAt,
      totalSent: box.totalSent,
      totalReceived: box.totalReceived,
      usage: box.usage,
      limits: box.limits,
    },
    now,
  );
}
