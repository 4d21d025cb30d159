import type { Message } from '../../wire/model.js';
import { HideableList } from './hideable-list.js';
import {
  type Box,
  type Copy,
  DELETED,
  extraOf,
  fromOf,
  GONE,
  moreOf,
  rootOf,
  SENT_DELETED,
  type Stored,
  threadStateOf,
  UNREAD,
  viewIn,
  viewOut,
} from './memory-store.js';

// The copies of a message and the lists that hold them: delivery, reading, starring, deletion and
// forgetting. A recipient's copy is the stored message itself for its first recipient and a `Copy`
// of its own for each later one; the sender's copy is the stored message's `SENT_*` flags and `sentPos`.

/** Shown in an inbox list: not deleted (and, in an unread list, not read). */
export const shown = (c: Copy) => (c.flags & DELETED) === 0;
export const unreadShown = (c: Copy) => (c.flags & DELETED) === 0 && c.readAt === null;
/** Shown in a sent list. */
export const sentShown = (m: Stored) => (m.flags & SENT_DELETED) === 0;

/** The copy `box` received of this message, if it received one. */
export function received(m: Stored, box: Box): Copy | undefined {
  if (m.owner === box) return m;
  const more = moreOf(m);
  if (more) for (const c of more) if (c.owner === box) return c;
  return undefined;
}

/**
 * Puts a message in its recipients' lists and its sender's sent list. The first recipient's copy is
 * the stored message; each later recipient gets a copy of its own.
 */
export function deliver(m: Stored, recipients: readonly Box[]): void {
  m.sentPos = m.sender.sent.push(m);
  m.sender.totalSent += 1;
  const from = fromOf(m);
  for (let i = 0; i < recipients.length; i++) {
    const box = recipients[i] as Box;
    let copy: Copy = m;
    if (i > 0) {
      copy = { stored: m, owner: box, readAt: null, flags: 0, pos: -1, senderPos: -1 };
      const x = extraOf(m);
      x.more ??= [];
      x.more.push(copy);
    }
    copy.pos = box.inbox.push(copy);
    const bySender = box.bySender.size === 0 ? undefined : box.bySender.get(from);
    if (bySender) copy.senderPos = bySender.push(copy);
    box.unread += 1;
    box.totalReceived += 1;
  }
}

/** The inbox of `box` from one sender (views `ALL`, `UNREAD`), made on first use. */
export function senderList(box: Box, from: string): HideableList<Copy> {
  let list = box.bySender.get(from);
  if (!list) {
    list = new HideableList(shown, unreadShown);
    for (const copy of box.inbox.values()) if (fromOf(copy.stored) === from) copy.senderPos = list.push(copy);
    box.bySender.set(from, list);
  }
  return list;
}

export function setRead(box: Box, copy: Copy, read: boolean, at: string): void {
  const bySender = box.bySender.size === 0 ? undefined : box.bySender.get(fromOf(copy.stored));
  if (read) {
    copy.readAt = at;
    box.unread -= 1;
    box.inbox.hide(copy.pos, UNREAD);
    bySender?.hide(copy.senderPos, UNREAD);
  } else {
    copy.readAt = null;
    box.unread += 1;
    box.inbox.rebuild(UNREAD);
    bySender?.rebuild(UNREAD);
  }
}

/** Every recipient read or deleted its copy: nobody still needs the message. */
export function finished(m: Stored): boolean {
  if (unreadShown(m)) return false;
  const more = moreOf(m);
  if (more) for (const c of more) if (unreadShown(c)) return false;
  return true;
}

/** Deletes a received copy for its owner: it leaves every list (the message stays for the others). */
export function hideReceived(copy: Copy): void {
  const box = copy.owner;
  copy.flags |= DELETED;
  if (copy.readAt === null) box.unread -= 1;
  box.inbox.hide(copy.pos);
  box.bySender.get(fromOf(copy.stored))?.hide(copy.senderPos);
}

/** Deletes the sender's copy: it leaves the sent list. */
export function hideSent(m: Stored): void {
  m.flags |= SENT_DELETED;
  m.sender.sent.hide(m.sentPos);
}

/** Takes a received copy out of every list of its owner, for good. */
function dropReceived(copy: Copy): void {
  const box = copy.owner;
  if ((copy.flags & DELETED) === 0) hideReceived(copy);
  box.inbox.drop(copy.pos);
  const bySender = box.bySender.get(fromOf(copy.stored));
  if (bySender && copy.senderPos >= 0) bySender.drop(copy.senderPos);
}

/**
 * Forgets a message: out of every list, view and thread, and its idempotency key with it. A
 * thread's first message stays findable (not visible) while the thread has other messages.
 */
export function forget(m: Stored, messages: { delete(id: string): void }): void {
  m.flags |= GONE;
  if ((m.flags & SENT_DELETED) === 0) hideSent(m);
  m.sender.sent.drop(m.sentPos);
  dropReceived(m);
  const more = moreOf(m);
  if (more) for (const c of more) dropReceived(c);
  const idempotency = m.sender.idempotency;
  const idemKey = m.x?.idemKey;
  if (idemKey !== undefined && idempotency.get(idemKey)?.message_id === m.id) idempotency.delete(idemKey);
  const root = rootOf(m);
  const thread = threadStateOf(root);
  if (!thread) {
    messages.delete(m.id);
    return;
  }
  thread.gone += 1;
  const live = thread.messages.length - thread.gone;
  if (m !== root) messages.delete(m.id);
  if (live === 0) messages.delete(root.id);
  if (thread.gone * 2 > thread.messages.length) {
    thread.messages = thread.messages.filter((t) => (t.flags & GONE) === 0);
    thread.gone = 0;
  }
}

/** A message of a thread as `viewer` sees it: its own copy (received first), or one made up for the view. */
export function viewFor(m: Stored, viewer: Box): Message {
  const copy = received(m, viewer);
  if (copy) return viewIn(copy);
  if (m.sender === viewer) return viewOut(m);
  return viewIn({ stored: m, owner: viewer, readAt: null, flags: 0, pos: -1, senderPos: -1 });
}
