import type { Account, Message, SendResult } from '../../wire/model.js';
import type { QuotaLimits, QuotaUsage } from '../kit/quota.js';
import { accountView, messageView } from '../kit/views.js';
import type { HideableList } from './hideable-list.js';

// The records of the embedded post office: one stored message, one copy per account that received
// it, per-account lists, and threads kept on their first message. The collector traces every one
// of them for as long as the mail is kept, so a message is as few objects as it can be: the stored
// message is its sender's copy (the `sent*` fields) and its first recipient's copy (the `Copy`
// fields) as well; only the second and later recipients of a message get a `Copy` object of their
// own (in `more`). An inbox list holds copies, a sent list stored messages: each list knows how to
// read what it holds. Copies live in `memory-copies.ts`.

/** A recipient's copy of a message: its own read state, star and place in its lists. */
export type Copy = {
  stored: Stored;
  owner: Box;
  readAt: string | null;
  starred: boolean;
  deleted: boolean;
  /** Positions in the lists that hold this copy (the inbox lists; its sender's lists), to hide it there. */
  pos: number;
  senderPos: number;
};

/** A message, read as its first recipient's copy (`Copy`'s fields) and as its sender's (`sent*`). */
export type Stored = Copy & {
  id: string;
  /** The thread's first message (itself for a root): the thread id is derived from its id. */
  root: Stored | undefined;
  sender: Box;
  from: string;
  to: readonly string[];
  cc: readonly string[];
  bcc: readonly string[];
  subject: string;
  bodyText: string | null;
  bodyHtml: string | null;
  inReplyTo: string | null;
  createdAt: string;
  /** The copies of the second and later recipients (most mail has one recipient). */
  more: Copy[] | undefined;
  /** On a thread's first message, once the thread has more than one message. */
  thread: ThreadState | undefined;
  /** Forgotten by the retention policy: no longer in any list, view or thread. */
  gone: boolean;
  /** The sender's idempotency key, so that forgetting the message forgets the key too. */
  idemKey: string | undefined;
  /** The sender's copy: its star, its deletion, its place in the sender's sent list. */
  sentStarred: boolean;
  sentDeleted: boolean;
  sentPos: number;
};

/** The views of an inbox list (`HideableList`): every copy not deleted, and the unread ones. */
export const ALL = 0;
export const UNREAD = 1;

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
  /** Received copies; views `ALL` and `UNREAD`. */
  inbox: HideableList<Copy>;
  /** The inbox by sender (views `ALL`, `UNREAD`): built on the first `from_address` query for it, then kept up to date. */
  bySender: Map<string, HideableList<Copy>>;
  sent: HideableList<Stored>;
  idempotency: Map<string, SendResult>;
};

export type ThreadState = {
  /** The thread id, once made (a message alone in its thread keeps none: its id is made for each view). */
  id: string | undefined;
  messages: Stored[];
  /** Senders, to and cc: seen by every participant. */
  participants: string[];
  /** Bcc recipients: participants who appear only in their own view. */
  hidden: string[];
  /** Messages of `messages` that were forgotten (cut out once they are half of it). */
  gone: number;
};

/** What a send stores: checked, and every recipient's account found. */
export type NewMessage = {
  id: string;
  sender: Box;
  /** Every recipient once, in order (at least one). */
  recipients: readonly Box[];
  parent: Stored | undefined;
  to: readonly string[];
  cc: readonly string[];
  bcc: readonly string[];
  subject: string;
  bodyText: string | null;
  bodyHtml: string | null;
  createdAt: string;
  idemKey: string | undefined;
};

/** The stored message of a send (in no list yet): its first recipient's copy unread, its sender's kept. */
export function newStored(m: NewMessage): Stored {
  const first = m.recipients[0] as Box;
  const stored: Stored = {
    stored: undefined as unknown as Stored,
    owner: first,
    readAt: null,
    starred: false,
    deleted: false,
    pos: -1,
    senderPos: -1,
    id: m.id,
    root: m.parent ? rootOf(m.parent) : undefined,
    sender: m.sender,
    from: m.sender.address,
    // One recipient: its account's one-address list, shared (the views copy it).
    to: m.to.length === 1 && m.recipients.length === 1 ? first.self : m.to,
    cc: m.cc,
    bcc: m.bcc,
    subject: m.subject,
    bodyText: m.bodyText,
    bodyHtml: m.bodyHtml,
    inReplyTo: m.parent ? m.parent.id : null,
    createdAt: m.createdAt,
    more: undefined,
    thread: undefined,
    gone: false,
    idemKey: m.idemKey,
    sentStarred: false,
    sentDeleted: false,
    sentPos: -1,
  };
  stored.stored = stored;
  return stored;
}

export const addOnce = (list: string[], items: readonly string[]) => {
  for (const a of items) if (!list.includes(a)) list.push(a);
};

export const rootOf = (m: Stored): Stored => m.root ?? m;
/**
 * The thread id: made once per thread and kept on it once the thread has a reply; a message alone
 * in its thread (most mail) keeps none, its id is made for each view (a string less for the
 * collector to keep per message). Made flat (not a concatenation: that keeps its parts alive beside
 * the copy a lookup makes).
 */
export const threadIdOf = (m: Stored): string => {
  const root = rootOf(m);
  if (!root.thread) return threadIdFor(root.id);
  root.thread.id ??= threadIdFor(root.id);
  return root.thread.id;
};

/** `thr_` and the id past its `msg_`: from character codes for the common 18-character id (a join costs twice that). */
function threadIdFor(id: string): string {
  if (id.length !== 18) return ['thr_', id.slice(4)].join('');
  const c = (i: number) => id.charCodeAt(i);
  // biome-ignore format: one code per character
  return String.fromCharCode(116, 104, 114, 95, c(4), c(5), c(6), c(7), c(8), c(9), c(10), c(11), c(12), c(13), c(14), c(15), c(16), c(17));
}

/** Whether `address` sent or received this message (bcc included). */
export const addressedTo = (m: Stored, address: string): boolean =>
  m.from === address || m.to.includes(address) || m.cc.includes(address) || m.bcc.includes(address);

/** A reply joins its root's thread: the thread is made on the first reply; senders, to and cc are seen, bcc hidden. */
export function joinThread(root: Stored, reply: Stored): void {
  root.thread ??= {
    id: undefined,
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

/** A thread as stored on its first message (derived while it has only that one). */
export function threadOf(root: Stored): ThreadState {
  return (
    root.thread ?? {
      id: undefined,
      messages: [root],
      participants: [root.from, ...root.to, ...root.cc],
      hidden: root.bcc as string[],
      gone: 0,
    }
  );
}

/** A message as one account sees it: received (`direction` inbound) or sent, with its read state and star. */
function view(m: Stored, direction: Message['direction'], readAt: string | null, starred: boolean): Message {
  return messageView({
    id: m.id,
    threadId: threadIdOf(m),
    from: m.from,
    fromAgentId: m.sender.agentId,
    to: m.to,
    cc: m.cc,
    subject: m.subject,
    bodyText: m.bodyText,
    bodyHtml: m.bodyHtml,
    inReplyTo: m.inReplyTo,
    createdAt: m.createdAt,
    direction,
    readAt,
    starred,
  });
}

/** A received message as the owner of `copy` sees it. */
export const viewIn = (copy: Copy): Message => view(copy.stored, 'inbound', copy.readAt, copy.starred);

/** A sent message as its sender sees it. */
export const viewOut = (m: Stored): Message => view(m, 'outbound', null, m.sentStarred);

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
