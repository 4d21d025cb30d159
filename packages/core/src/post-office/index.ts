/**
 * The kit a post-office implementation needs.
 * @module @mailroom/core/post-office
 */
// @mailroom/core/post-office — the kit a post-office implementation needs (what @mailroom/server
// builds on): the contract, the whole wire model, quota windows, send planning, cursors, keys and
// wake-ups. Users write agents with `@mailroom/core`.

export { type InboxFeedOptions, runInboxFeed } from '../mailbox/inbox-feed.js';
export type { Mailbox } from '../mailbox/mailbox.js';
export type { PostOffice } from '../mailbox/post-office-contract.js';
export { type Clock, systemClock } from '../time/clock.js';
export { ClaimQuery, LEASES_HEADER, LeasedPage, RenewRequest, RenewResult } from '../wire/lease.js';
export {
  Account,
  Address,
  AgentId,
  InboxPage,
  InboxQuery,
  type InboxQueryParsed,
  MAX_BODY_BYTES,
  Message,
  QuotaWindow,
  RateLimitBody,
  RegisterRequest,
  Registration,
  SendRequest,
  SendResult,
  SentPage,
  SentQuery,
  Thread,
  ValidationErrorBody,
} from '../wire/model.js';
export { checkOptions, parseOrThrow } from '../wire/parse.js';
export {
  BATCH_SEND_HEADER,
  MAX_BATCH_SENDS,
  PUSH_HEADER,
  PushQuery,
  SendBatchItem,
  SendBatchRequest,
  SendBatchResult,
} from '../wire/push.js';
export { decodeCursor, encodeCursor, inboxCursorMode } from './kit/cursor.js';
export { hashKey, newApiKey } from './kit/keys.js';
export { LeaseTable } from './kit/lease-table.js';
export { checkOfficeOptions, Domain } from './kit/office-options.js';
export {
  admitSend,
  assertQuota,
  countSend,
  currentUsage,
  DAY_MS,
  emptyUsage,
  HOUR_MS,
  type QuotaLimits,
  type QuotaUsage,
  quotaWaitMs,
  rateLimits,
  usageAt,
} from './kit/quota.js';
export { planSend, type SendPlan } from './kit/send-plan.js';
export { type AccountFacts, accountView, type MessageFacts, messageView } from './kit/views.js';
export { WakeUps } from './kit/wake-ups.js';
