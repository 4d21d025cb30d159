import type { Account, Message, SendResult } from '../../wire/model.js';
import type { QuotaLimits, QuotaUsage } from '../kit/quota.js';
import { accountView, messageView } from '../kit/views.js';
import type { HideableList } from './hideable-list.js';

// The records of the embedded post office: one stored message, one copy per account that received
// it, per-account lists, and threads kept on their first message. The collector traces every one
// of them for as long as the mail is kept, so a message is as few objects and fields as it can be:
// the stored message is its sender's copy (the `SENT_*` flags, `sentPos`) and its first recipient's
// copy (the `Copy` fields) as well; only the second and later recipients of a message get a `Copy`
// object of their own (in `more`). Its yes/no states are bits of one number, and the fields most
// mail leaves empty (cc, bcc, html, a reply's parent, an idempotency key, later recipients, a
// thread) sit on an `Extra` made only for the mail that has one. An inbox list holds copies, a sent
// list stored messages: each list knows how to read what it holds. Copies live in `memory-copies.ts`.

/** `Copy.flags`: this copy is starred / deleted by its owner. */
export const STARRED = 1;
export const DELETED = 2;
/** A stored message's own `flags` only: its sender's copy is starred / deleted; forgotten by retention. */
export const SENT_STARRED = 4;
export const SENT_DELETED = 8;
export const GONE = 16;

/** A recipient's copy of a message: its own read state, star and place in its lists. */
export type Copy = {
  stored: Stored;
  owner: Box;
  readAt: string | null;
  /** `STARRED`, `DELETED` (and on a stored message `SENT_STARRED`, `SENT_DELETED`, `GONE`). */
  flags: number;
  /** Positions in the lists that hold this copy (the inbox lists; its sender's lists), to hide it there. */
  pos: number;
  senderPos: number;
};

/** A message, read as its first recipient's copy (`Copy`'s fields) and as its sender's (`SENT_*`, `sentPos`). */
export type Stored = Copy & {
  id: string;
  sender: Box;
  to: readonly string[];
  subject: string;
  bodyText: string | null;
  createdAt: string;
  /** The sender's copy's place in the sender's sent list. */
  sentPos: number;
  /** What most mail leaves empty; `undefined` while all of it is. */
  x: Extra | undefined;
};

/** The fields of a stored message that most mail leaves empty (made when one is not). */
export type Extra = {
  /** The thread's first message (a reply's); `undefined`: the message is its thread's first. */
  root: Stored | undefined;
  inReplyTo: string | null;
  cc: readonly string[];
  bcc: readonly string[];
  bodyHtml: string | null;
  /** The sender's idempotency key, so that forgetting the message forgets the key too. */
  idemKey: string | undefined;
  /** The copies of the second and later recipients. */
  more: Copy[] | undefined;
  /** On a thread's first message, once the thread has more than one message. */
  thread: ThreadState | undefined;
};

const NONE: readonly string[] = Object.freeze([]);

export const has = (c: Copy, flag: number): boolean => (c.flags & flag) !== 0;
export const ccOf = (m: Stored): readonly string[] => m.x?.cc ?? NONE;
export const bccOf = (m: Stored): readonly string[] => m.x?.bcc ?? NONE;
export const moreOf = (m: Stored): Copy[] | undefined => m.x?.more;
export const threadStateOf = (m: Stored): ThreadState | undefined => m.x?.thread;
export const fromOf = (m: Stored): string => m.sender.address;

/** The message's `Extra`, made now if it has none. */
export function extraOf(m: Stored): Extra {
  m.x ??= {
    root: undefined,
    inReplyTo: null,
    cc: NONE,
    bcc: NONE,
    bodyHtml: null,
    idemKey: undefined,
    more: undefined,
    thread: undefined,
  };
  return m.x;
}

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
    flags: 0,
    pos: -1,
    senderPos: -1,
    id: m.id,
    sender: m.sender,
    // One recipient: its account's one-address list, shared (the views copy it).
    to: m.to.length === 1 && m.recipients.length === 1 ? first.self : m.to,
    subject: m.subject,
    bodyText: m.bodyText,
    createdAt: m.createdAt,
    sentPos: -1,
    x: undefined,
  };
  stored.stored = stored;
  if (m.parent || m.cc.length > 0 || m.bcc.length > 0 || m.bodyHtml !== null || m.idemKey !== undefined) {
    const x = extraOf(stored);
    if (m.parent) {
      x.root = rootOf(m.parent);
      x.inReplyTo = m.parent.id;
    }
    if (m.cc.length > 0) x.cc = m.cc;
    if (m.bcc.length > 0) x.bcc = m.bcc;
    x.bodyHtml = m.bodyHtml;
    x.idemKey = m.idemKey;
  }
  return stored;
}

export const addOnce = (list: string[], items: readonly string[]) => {
  for (const a of items) if (!list.includes(a)) list.push(a);
};

export const rootOf = (m: Stored): Stored => m.x?.root ?? m;
/**
 * The thread id: made once per thread and kept on it once the thread has a reply, made flat (a
 * concatenation kept would keep its parts alive beside the copy a lookup makes). A message alone in
 * its thread (most mail) keeps none (a string less for the collector to keep per message): its
 * views get `thr_` joined to the id's tail, half the cost of a flat one, and nothing more unless a
 * reader hashes or compares it (the view holds the id anyway, and the send result's view is mostly
 * dropped unread).
 */
export const threadIdOf = (m: Stored): string => {
  const root = rootOf(m);
  const thread = threadStateOf(root);
  if (!thread) return `thr_${root.id.slice(4)}`;
  thread.id ??= threadIdFor(root.id);
  return thread.id;
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
  fromOf(m) === address || m.to.includes(address) || ccOf(m).includes(address) || bccOf(m).includes(address);

/** A reply joins its root's thread: the thread is made on the first reply; senders, to and cc are seen, bcc hidden. */
export function joinThread(root: Stored, reply: Stored): void {
  const x = extraOf(root);
  x.thread ??= {
    id: undefined,
    messages: [root],
    participants: [fromOf(root), ...root.to, ...x.cc],
    hidden: [...x.bcc],
    gone: 0,
  };
  const thread = x.thread;
  thread.messages.push(reply);
  addOnce(thread.participants, [fromOf(reply)]);
  addOnce(thread.participants, reply.to);
  addOnce(thread.participants, ccOf(reply));
  addOnce(thread.hidden, bccOf(reply));
}

/** A thread as stored on its first message (derived while it has only that one). */
export function threadOf(root: Stored): ThreadState {
  return (
    threadStateOf(root) ?? {
      id: undefined,
      messages: [root],
      participants: [fromOf(root), ...root.to, ...ccOf(root)],
      hidden: bccOf(root) as string[],
      gone: 0,
    }
  );
}

/** A message as one account sees it: received (`direction` inbound) or sent, with its read state and star. */
function view(
  m: Stored,
  direction: Message['direction'],
  readAt: string | null,
  starred: boolean,
  threadId: string,
): Message {
  return messageView({
    id: m.id,
    threadId,
    from: m.sender.address,
    fromAgentId: m.sender.agentId,
    to: m.to,
    cc: m.x?.cc ?? NONE,
    subject: m.subject,
    bodyText: m.bodyText,
    bodyHtml: m.x?.bodyHtml ?? null,
    inReplyTo: m.x?.inReplyTo ?? null,
    createdAt: m.createdAt,
    direction,
    readAt,
    starred,
  });
}

/** A received message as the owner of `copy` sees it. */
export const viewIn = (copy: Copy): Message =>
  view(copy.stored, 'inbound', copy.readAt, (copy.flags & STARRED) !== 0, threadIdOf(copy.stored));

/** A sent message as its sender sees it. */
export const viewOut = (m: Stored): Message => viewSent(m, threadIdOf(m));

/** A sent message as its sender sees it, its thread id made already. */
export const viewSent = (m: Stored, threadId: string): Message =>
  view(m, 'outbound', null, (m.flags & SENT_STARRED) !== 0, threadId);

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
