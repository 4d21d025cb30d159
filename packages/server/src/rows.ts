import type { Message } from '@mailroom/core';
import { messageView } from '@mailroom/core/post-office';

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
