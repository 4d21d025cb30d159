import type { Account, Message, SentPage, Thread } from '@mailroom/core';
import { accountView, encodeCursor, messageView } from '@mailroom/core/post-office';

// Rows of the SQLite post office and their mapping to the wire model.

export type Row = Record<string, unknown>;
export type AccountRow = {
  address: string;
  agent_id: string;
  created_at: string;
  hourly_limit: number;
  daily_limit: number;
  hour_window: number;
  hour_used: number;
  day_window: number;
  day_used: number;
  total_sent: number;
  total_received: number;
};
export type MessageRow = {
  seq: number;
  id: string;
  thread_id: string;
  from_address: string;
  from_agent_id: string;
  to_json: string;
  cc_json: string;
  subject: string;
  body_text: string | null;
  body_html: string | null;
  in_reply_to: string | null;
  created_at: string;
  direction?: 'inbound' | 'outbound' | null;
  read_at?: string | null;
  starred?: number | null;
};

export const MESSAGE_COLUMNS =
  'm.seq, m.id, m.thread_id, m.from_address, m.from_agent_id, m.to_json, m.cc_json, m.subject, m.body_text, m.body_html, m.in_reply_to, m.created_at';

/** A stored message as the Message of the API. */
export function toMessage(r: MessageRow | Row): Message {
  const m = r as MessageRow;
  return messageView({
    id: m.id,
    threadId: m.thread_id,
    from: m.from_address,
    fromAgentId: m.from_agent_id,
    to: JSON.parse(m.to_json) as string[],
    cc: JSON.parse(m.cc_json) as string[],
    subject: m.subject,
    bodyText: m.body_text,
    bodyHtml: m.body_html,
    inReplyTo: m.in_reply_to,
    createdAt: m.created_at,
    direction: m.direction ?? 'inbound',
    readAt: m.read_at ?? null,
    starred: m.starred === 1,
  });
}

/** A page of `limit` rows out of `limit + 1` fetched: whether more follow, and the last row. */
export function pageOf<R>(rows: R[], limit: number): { page: R[]; hasMore: boolean; last: R | undefined } {
  const hasMore = rows.length > limit;
  const page = hasMore ? rows.slice(0, limit) : rows;
  return { page, hasMore, last: page[page.length - 1] };
}

/** A stored account as the Account of the API, its quotas as they stand at `now`. */
export function toAccount(a: AccountRow, now: number): Account {
  return accountView(
    {
      address: a.address,
      createdAt: a.created_at,
      totalSent: a.total_sent,
      totalReceived: a.total_received,
      usage: { hourWindow: a.hour_window, hourUsed: a.hour_used, dayWindow: a.day_window, dayUsed: a.day_used },
      limits: { hourly: a.hourly_limit, daily: a.daily_limit },
    },
    now,
  );
}

/** The caller's own copy of a message (direction, read state, star), when it has one. */
export type OwnEntry = { direction: 'inbound' | 'outbound'; read_at: string | null; starred: number };

/** A message row as `viewer` sees it: through its own copy, or as a participant of the thread. */
export function withView(row: MessageRow, viewer: string, own: OwnEntry | undefined): MessageRow {
  if (own) return { ...row, direction: own.direction, read_at: own.read_at, starred: own.starred };
  if (row.direction != null) return row;
  return { ...row, direction: row.from_address === viewer ? 'outbound' : 'inbound', read_at: null, starred: 0 };
}

/** A thread as `viewer` sees it: the visible participants (the viewer among them) and every message. */
export function threadView(
  threadId: string,
  subject: string,
  participants: string[],
  viewer: string,
  rows: readonly MessageRow[],
): Thread {
  if (!participants.includes(viewer)) participants.push(viewer);
  return {
    thread_id: threadId,
    subject,
    participant_addresses: participants,
    messages: rows.map((r) => toMessage(withView(r, viewer, undefined))),
  };
}

/** A page of sent mail from `limit + 1` rows. */
export function sentPage(rows: MessageRow[], limit: number): SentPage {
  const { page, hasMore, last } = pageOf(rows, limit);
  return {
    messages: page.map((r) => toMessage(r)),
    total: page.length,
    has_more: hasMore,
    cursor: hasMore && last ? encodeCursor('s', last.seq) : null,
  };
}
