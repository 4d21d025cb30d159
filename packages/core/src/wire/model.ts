import { z } from 'zod';

/** An agent's address: `<agent_id>@<domain>`. */
export const Address = z
  .string()
  .max(320)
  .regex(/^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+$/, 'not an email address');
export type Address = z.infer<typeof Address>;

/** An agent id as the platform accepts it: lowercase letters, digits and inner dashes, 3..50 chars. */
export const AgentId = z
  .string()
  .min(3)
  .max(50)
  .regex(/^[a-z0-9][a-z0-9-]*[a-z0-9]$/, 'lowercase letters, digits and inner dashes only');
export type AgentId = z.infer<typeof AgentId>;

const Iso = z.string();
const Count = z.number().int().nonnegative();

/** 256 KiB: the cap on `body_text` (and `body_html`) in UTF-8 bytes. */
export const MAX_BODY_BYTES = 256 * 1024;

const utf8Capped = z
  .string()
  .refine((s) => s.length <= MAX_BODY_BYTES && Buffer.byteLength(s, 'utf8') <= MAX_BODY_BYTES, {
    message: `must be at most ${MAX_BODY_BYTES} bytes of UTF-8`,
  });

/** A message as one account sees it (direction, read state and star are relative to that account). */
export const Message = z.object({
  message_id: z.string(),
  thread_id: z.string(),
  from_address: z.string(),
  from_agent_id: z.string(),
  to_addresses: z.array(z.string()),
  cc_addresses: z.array(z.string()),
  subject: z.string(),
  body_text: z.string().nullable(),
  body_html: z.string().nullable(),
  direction: z.enum(['inbound', 'outbound']),
  delivery_type: z.enum(['internal', 'external']),
  status: z.enum(['queued', 'sending', 'delivered', 'bounced', 'failed', 'spam']),
  has_attachments: z.boolean(),
  attachments: z.array(z.unknown()),
  in_reply_to: z.string().nullable(),
  read_at: Iso.nullable(),
  starred: z.boolean(),
  created_at: Iso,
  delivered_at: Iso.nullable(),
});
export type Message = z.infer<typeof Message>;

/** A thread as a participant sees it: messages oldest first. */
export const Thread = z.object({
  thread_id: z.string(),
  subject: z.string(),
  participant_addresses: z.array(z.string()),
  messages: z.array(Message),
});
export type Thread = z.infer<typeof Thread>;

/** Used/limit/remaining of one quota window. */
export const QuotaWindow = z.object({ used: Count, limit: Count, remaining: Count });
export type QuotaWindow = z.infer<typeof QuotaWindow>;

/** An account's state and send quotas. */
export const Account = z.object({
  email_address: z.string(),
  status: z.enum(['active', 'suspended', 'frozen', 'deactivated']),
  send_tier: z.enum(['provisional', 'active', 'trusted']),
  reputation_score: z.number().min(0).max(1),
  total_sent: Count,
  total_received: Count,
  total_bounced: Count,
  total_spam_complaints: Count,
  sending_frozen: z.boolean(),
  frozen_reason: z.string().nullable(),
  rate_limits: z.object({ hourly: QuotaWindow, daily: QuotaWindow }),
  created_at: Iso,
});
export type Account = z.infer<typeof Account>;

const Recipients = z.array(Address);

/** The body of `POST /email/send`. Unknown fields (such as `from_address`) are dropped. */
export const SendRequest = z.object({
  to: Recipients.min(1).max(10),
  cc: Recipients.max(10).optional(),
  bcc: Recipients.max(10).optional(),
  subject: z.string().min(1).max(256),
  body_text: utf8Capped.nullable().optional(),
  body_html: utf8Capped.nullable().optional(),
  in_reply_to: z.string().min(1).max(128).nullable().optional(),
  attachments: z.array(z.string()).max(0, 'attachments are not supported').optional(),
  idempotency_key: z.string().min(1).max(128).optional(),
});
/** What a caller passes to send (before defaults). */
export type SendRequest = z.input<typeof SendRequest>;

/** The answer to a send. */
export const SendResult = z.object({
  message_id: z.string(),
  thread_id: z.string(),
  status: z.enum(['queued', 'sending', 'delivered', 'bounced', 'failed', 'spam']),
  delivery_type: z.enum(['internal', 'external']),
  message: Message,
});
export type SendResult = z.infer<typeof SendResult>;

/** Query of `GET /email/inbox`. Query strings are coerced, so `"true"` and `"20"` work. */
export const InboxQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  unread_only: z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
    .transform((v) => v === true || v === 'true' || v === '1')
    .default(false),
  from_address: Address.optional(),
  cursor: z.string().min(1).max(128).optional(),
  wait: z.coerce.number().min(0).max(30).optional(),
});
export type InboxQuery = z.input<typeof InboxQuery>;
export type InboxQueryParsed = z.output<typeof InboxQuery>;

/** One page of an inbox. */
export const InboxPage = z.object({
  messages: z.array(Message),
  total: Count,
  unread_count: Count,
  has_more: z.boolean(),
  cursor: z.string().nullable(),
});
export type InboxPage = z.infer<typeof InboxPage>;

/** Query of `GET /email/sent`. */
export const SentQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().min(1).max(128).optional(),
});
export type SentQuery = z.input<typeof SentQuery>;

/** One page of sent mail. */
export const SentPage = z.object({
  messages: z.array(Message),
  total: Count,
  has_more: z.boolean(),
  cursor: z.string().nullable(),
});
export type SentPage = z.infer<typeof SentPage>;

/** The body of a 429. */
export const RateLimitBody = z.object({
  error: z.object({
    code: z.literal('rate_limit_exceeded'),
    message: z.string(),
    retry_after: Count,
    details: z.object({
      limit_type: z.enum(['hourly', 'daily']),
      hourly_used: Count,
      hourly_limit: Count,
      hourly_resets_at: z.string(),
      daily_used: Count,
      daily_limit: Count,
    }),
  }),
});
export type RateLimitBody = z.infer<typeof RateLimitBody>;

/** The body of a 422. */
export const ValidationErrorBody = z.object({
  detail: z.array(z.object({ loc: z.array(z.union([z.string(), z.number()])), msg: z.string(), type: z.string() })),
});
export type ValidationErrorBody = z.infer<typeof ValidationErrorBody>;

/** The body of `POST /agents/register`. */
export const RegisterRequest = z.object({
  agent_id: AgentId,
  profile: z
    .object({ display_name: z.string().max(100).optional() })
    .passthrough()
    .optional(),
});
export type RegisterRequest = z.input<typeof RegisterRequest>;

/** The answer to a registration: the API key is shown once. */
export const Registration = z.object({
  agent_id: z.string(),
  api_key: z.string(),
  status: z.string(),
  created_at: z.string(),
  email_address: z.string(),
});
export type Registration = z.infer<typeof Registration>;
