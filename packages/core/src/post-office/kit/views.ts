import type { Account, Message } from '../../wire/model.js';
import { type QuotaLimits, type QuotaUsage, rateLimits } from './quota.js';

// The account and the message as the API shows them, whatever store they come from.

/** What a store knows of an account. */
export type AccountFacts = {
  address: string;
  createdAt: string;
  totalSent: number;
  totalReceived: number;
  usage: QuotaUsage;
  limits: QuotaLimits;
};

/** An account as the API shows it at `now`. */
export function accountView(a: AccountFacts, now: number): Account {
  return {
    email_address: a.address,
    status: 'active',
    send_tier: 'active',
    reputation_score: 1,
    total_sent: a.totalSent,
    total_received: a.totalReceived,
    total_bounced: 0,
    total_spam_complaints: 0,
    sending_frozen: false,
    frozen_reason: null,
    rate_limits: rateLimits(a.usage, a.limits, now),
    created_at: a.createdAt,
  };
}

/** What a store knows of one copy of a message: the mail, and its owner's view of it. */
export type MessageFacts = {
  id: string;
  threadId: string;
  from: string;
  fromAgentId: string;
  to: readonly string[];
  cc: readonly string[];
  subject: string;
  bodyText: string | null;
  bodyHtml: string | null;
  inReplyTo: string | null;
  createdAt: string;
  direction: Message['direction'];
  readAt: string | null;
  starred: boolean;
};

/** A message as the API shows it to the owner of the copy. */
export function messageView(m: MessageFacts): Message {
  return {
    message_id: m.id,
    thread_id: m.threadId,
    from_address: m.from,
    from_agent_id: m.fromAgentId,
    // Copies (a caller may change its view), made the cheapest way: most mail has no cc.
    to_addresses: m.to.length === 1 ? [m.to[0] as string] : m.to.slice(),
    cc_addresses: m.cc.length === 0 ? [] : m.cc.slice(),
    subject: m.subject,
    body_text: m.bodyText,
    body_html: m.bodyHtml,
    direction: m.direction,
    delivery_type: 'internal',
    status: 'delivered',
    has_attachments: false,
    attachments: [],
    in_reply_to: m.inReplyTo,
    read_at: m.readAt,
    starred: m.starred,
    created_at: m.createdAt,
    delivered_at: m.createdAt,
  };
}
