import { renderThreadHtml } from '@mailroom/core';
import {
  Account,
  InboxPage,
  InboxQuery,
  type InboxQueryParsed,
  Message,
  type PostOffice,
  SendRequest,
  SendResult,
  SentPage,
  SentQuery,
  Thread,
} from '@mailroom/core/post-office';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { PAGE_CSP, rejectLongIds } from './guards.js';
import { longPoll } from './hold.js';
import { registerLeaseRoutes } from './lease-routes.js';
import { type App, debugOn, type Hook, type RouteBook } from './routes.js';
import { registerOperationRoutes } from './routes-ops.js';

/** Header of every inbox response: this server holds requests that carry `wait` (long poll). */
export const LONG_POLL_HEADER = 'x-mailroom-long-poll';

/** A message or thread id in a path (longer ones are answered 414 before any route runs). */
const PathId = z.string().min(1).max(128);
const MessageParams = z.object({ message_id: PathId });
const ThreadParams = z.object({ thread_id: PathId });
const ReadBatch = z.object({ message_ids: z.array(PathId).min(1).max(100) });
const ReadQuery = z.object({
  unread: z.enum(['true', 'false', '1', '0']).optional().describe('`true` marks the message unread again'),
});
const Empty = z.object({});
const Marked = z.object({ marked: z.number().int().nonnegative() });
const Starred = z.object({ starred: z.boolean() });

/**
 * Every route of the API, each declared with its schemas (see routes.ts): a new route goes
 * here, in the scope whose authentication it needs, as `book.route(scope, spec, handler)`.
 */
export function registerRoutes(
  app: App,
  book: RouteBook,
  po: PostOffice,
  o: {
    authenticate: Hook;
    registration: Hook;
    admin: Hook;
    closing: AbortSignal;
    longPoll: boolean;
    batchRead: boolean;
    /** More routes of the authenticated scope (the push and batch-send extensions). */
    extend?: (email: App) => void;
  },
): void {
  registerOperationRoutes(app, book, po, o);

  // The Agent Email API: every route behind X-API-Key.
  app.register(async (email) => {
    email.addHook('onRequest', o.authenticate);
    email.addHook('preHandler', rejectLongIds);
    book.route(
      email,
      {
        method: 'POST',
        url: '/email/send',
        summary: 'Send mail as the key’s account',
        description: 'A repeated `idempotency_key` [ext] returns the first result and sends nothing.',
        auth: 'apiKey',
        body: SendRequest,
        response: { body: SendResult },
        errors: [404, 429],
      },
      async ({ body }, req) => {
        const sent = await po.send(req.address, body);
        if (debugOn(req.log)) {
          req.log.debug(
            {
              from: req.address,
              to: body.to,
              cc: body.cc?.length ? body.cc : undefined,
              bcc: body.bcc?.length ?? undefined,
              message_id: sent.message_id,
              thread_id: sent.thread_id,
              in_reply_to: body.in_reply_to ?? undefined,
            },
            'mail accepted',
          );
        }
        return sent;
      },
    );
    book.route(
      email,
      {
        method: 'GET',
        url: '/email/inbox',
        summary: 'A page of the inbox, oldest first',
        description:
          '`wait` [ext] holds the request until a matching message exists or that many seconds pass (long poll; answers carry `X-Mailroom-Long-Poll: 1`).',
        auth: 'apiKey',
        query: InboxQuery,
        response: { body: InboxPage },
      },
      async ({ query }, req, reply) => {
        const started = Date.now();
        const page = o.longPoll
          ? await inboxWithWait(po, req, reply.header(LONG_POLL_HEADER, '1'), query, o.closing)
          : await po.inbox(req.address, { ...query, wait: undefined });
        if (debugOn(req.log)) {
          req.log.debug(
            {
              address: req.address,
              messages: page.messages.length,
              unread_count: page.unread_count,
              unread_only: query.unread_only,
              waitedMs: query.wait ? Date.now() - started : undefined,
            },
            page.messages.length > 0 ? 'inbox answered' : 'inbox answered: nothing matched',
          );
        }
        return page;
      },
    );
    book.route(
      email,
      {
        method: 'GET',
        url: '/email/sent',
        summary: 'A page of sent mail, oldest first',
        auth: 'apiKey',
        query: SentQuery,
        response: { body: SentPage },
      },
      async ({ query }, req) => po.sent(req.address, query),
    );
    book.route(
      email,
      {
        method: 'GET',
        url: '/email/message/:message_id',
        summary: 'One message; marks an inbound message read',
        auth: 'apiKey',
        params: MessageParams,
        response: { body: Message },
      },
      async ({ params }, req) => po.message(req.address, params.message_id),
    );
    book.route(
      email,
      {
        method: 'DELETE',
        url: '/email/message/:message_id',
        summary: 'Remove a message from the caller’s view only',
        auth: 'apiKey',
        params: MessageParams,
        response: { body: Empty },
      },
      async ({ params }, req) => {
        await po.delete(req.address, params.message_id);
        return {};
      },
    );
    book.route(
      email,
      {
        method: 'POST',
        url: '/email/message/:message_id/read',
        summary: 'Mark a message read (or, with `unread=true`, unread again)',
        auth: 'apiKey',
        params: MessageParams,
        query: ReadQuery,
        response: { body: Empty },
      },
      async ({ params, query }, req) => {
        const unread = query.unread === 'true' || query.unread === '1';
        await po.markRead(req.address, [params.message_id], { unread });
        req.log.debug({ address: req.address, message_id: params.message_id, unread }, 'marked read');
        return {};
      },
    );
    book.route(
      email,
      {
        method: 'POST',
        url: '/email/message/:message_id/star',
        summary: 'Toggle the star (not safe to repeat)',
        auth: 'apiKey',
        params: MessageParams,
        response: { body: Starred },
      },
      async ({ params }, req) => po.star(req.address, params.message_id),
    );
    if (o.batchRead) {
      book.route(
        email,
        {
          method: 'POST',
          url: '/email/read',
          summary: '[ext] Mark many messages read at once (all or nothing)',
          auth: 'apiKey',
          body: ReadBatch,
          response: { body: Marked },
          errors: [404],
        },
        async ({ body }, req) => {
          const marked = await po.markRead(req.address, body.message_ids);
          req.log.debug({ address: req.address, messages: body.message_ids.length, marked }, 'marked read');
          return { marked };
        },
      );
    }
    book.route(
      email,
      {
        method: 'GET',
        url: '/email/thread/:thread_id',
        summary: 'A thread, for a participant',
        auth: 'apiKey',
        params: ThreadParams,
        response: { body: Thread },
      },
      async ({ params }, req) => po.thread(req.address, params.thread_id),
    );
    book.route(
      email,
      {
        method: 'GET',
        url: '/email/account',
        summary: 'The account with its quotas',
        auth: 'apiKey',
        response: { body: Account },
      },
      async (_input, req) => po.account(req.address),
    );
    registerLeaseRoutes(email, book, po, o.closing);
    o.extend?.(email);
    book.route(
      email,
      {
        method: 'GET',
        url: '/ui/thread/:thread_id',
        summary: 'The audit trail of a thread as an HTML page, for its participants',
        description: 'Content-Security-Policy: no script.',
        auth: 'apiKey',
        params: ThreadParams,
        response: { description: 'the page', body: 'html' },
      },
      async ({ params }, req, reply) =>
        reply
          .type('text/html; charset=utf-8')
          .header('content-security-policy', PAGE_CSP)
          .send(renderThreadHtml(await po.thread(req.address, params.thread_id))),
    );
  });
}

/** `GET /email/inbox` with the long-poll extension: holds the request until a match or `wait` ends. */
function inboxWithWait(
  po: PostOffice,
  req: FastifyRequest,
  reply: FastifyReply,
  query: InboxQueryParsed,
  closing: AbortSignal,
): Promise<InboxPage> {
  const { wait, ...rest } = query;
  return longPoll({ po, req, reply, closing, waitMs: (wait ?? 0) * 1000, read: () => po.inbox(req.address, rest) });
}
