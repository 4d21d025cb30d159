import { z } from 'zod';
import { InboxQuery, type SendRequest, SendResult } from './model.js';

/**
 * The push extension: `GET /email/inbox/stream` (Server-Sent Events) sends the pages of an inbox
 * as mail lands. Header on every authenticated answer of a server that offers it.
 */
export const PUSH_HEADER = 'x-mailroom-push';

/** The batch-send extension: `POST /email/send/batch`. Header on every authenticated answer of a server that offers it. */
export const BATCH_SEND_HEADER = 'x-mailroom-batch-send';

/**
 * Query of the inbox stream: the filters of `GET /email/inbox` (no `wait`); `cursor` starts after
 * a page already seen (an SSE `Last-Event-ID` header wins over it).
 */
export const PushQuery = InboxQuery.omit({ wait: true });
export type PushQuery = z.input<typeof PushQuery>;

/** Most sends in one batch. */
export const MAX_BATCH_SENDS = 100;

/** `POST /email/send/batch`: several sends, each checked, counted and keyed on its own. */
export const SendBatchRequest = z.object({
  sends: z.array(z.unknown()).min(1).max(MAX_BATCH_SENDS),
});
export type SendBatchRequest = { sends: SendRequest[] };

/**
 * One answer per send, in order: `status` is what `POST /email/send` would have answered for it
 * alone, `body` its body (a `SendResult` for `200`, the error body otherwise); `retry_after` for a
 * `429` or `503`.
 */
export const SendBatchItem = z.union([
  z.object({ status: z.literal(200), body: SendResult }),
  z.object({
    status: z.number().int().min(400).max(599),
    body: z.unknown(),
    retry_after: z.number().int().nonnegative().optional(),
  }),
]);
export type SendBatchItem = z.infer<typeof SendBatchItem>;
export const SendBatchResult = z.object({ results: z.array(SendBatchItem) });
export type SendBatchResult = z.infer<typeof SendBatchResult>;
