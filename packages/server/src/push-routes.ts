import type { ServerResponse } from 'node:http';
import type { PostOffice } from '@mailroom/core';
import {
  BATCH_SEND_HEADER,
  type InboxPage,
  PUSH_HEADER,
  PushQuery,
  runInboxFeed,
  SendBatchRequest,
  SendBatchResult,
} from '@mailroom/core/post-office';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Subscription } from 'rxjs';
import { z } from 'zod';
import { errorAnswer } from './http-errors.js';
import { type App, announce, type RouteBook } from './routes.js';

/** Settings of the push extension's stream. */
export type PushSettings = {
  /** A keep-alive comment (and a re-read of the inbox) after this long without mail. */
  heartbeatMs: number;
  /** A client that takes no bytes for this long while a page waits to be written is cut off. */
  stalledMs: number;
};

/**
 * The push extension: `GET /email/inbox/stream` (Server-Sent Events), and the
 * `X-Mailroom-Push: 1` header on every authenticated answer so a client learns of it from its
 * first call.
 */
export function registerPushRoutes(
  email: App,
  book: RouteBook,
  po: PostOffice,
  closing: AbortSignal,
  settings: PushSettings,
): void {
  announce(email, PUSH_HEADER);
  book.route(
    email,
    {
      method: 'GET',
      url: '/email/inbox/stream',
      summary: 'The inbox as mail lands (Server-Sent Events) [ext: push]',
      description:
        'One `inbox` event per page (`id:` the page cursor, `data:` the page as JSON); resumes after the page of `Last-Event-ID` (or `cursor`); a `: keep-alive` comment each heartbeat.',
      auth: 'apiKey',
      query: PushQuery,
      headers: StreamHeaders,
      response: { description: 'the stream', body: { mediaType: 'text/event-stream' } },
    },
    async ({ query, headers }, req, reply) => {
      const { cursor: fromQuery, ...filters } = query;
      const lastEventId = headers?.['last-event-id'];
      const cursor = typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : fromQuery;
      // The first page is read before the stream starts: a bad cursor or filter is a plain 422.
      const read = (at: string | undefined) =>
        po.inbox(req.address, { ...filters, ...(at !== undefined ? { cursor: at } : {}) });
      // Wake-ups are listened for before the first read: mail that lands while it is under way, or
      // before the stream listens itself, is read at once rather than at the next heartbeat.
      const early = { landed: false };
      const listening = po.wakeups(req.address).subscribe(() => (early.landed = true));
      let first: InboxPage;
      try {
        first = await read(cursor);
      } catch (err) {
        listening.unsubscribe();
        throw err;
      }
      if (closing.aborted) {
        listening.unsubscribe();
        return reply.code(503).header('retry-after', '1').send({ detail: 'the server is closing' });
      }
      streamInbox(po, req, reply, { read, first, early, listening, cursor, closing, settings });
    },
  );
}

/** The header a reconnecting client resumes by. */
const StreamHeaders = z.object({ 'last-event-id': z.string().max(128).optional() });

/** The batch-send extension: `POST /email/send/batch`, announced by `X-Mailroom-Batch-Send: 1`. */
export function registerBatchSendRoute(email: App, book: RouteBook, po: PostOffice): void {
  announce(email, BATCH_SEND_HEADER);
  book.route(
    email,
    {
      method: 'POST',
      url: '/email/send/batch',
      summary: 'Several sends in one request, each answered on its own [ext: batch send]',
      description:
        'Each item is checked (quota, idempotency key, recipients) and kept as if it came alone; `results[i]` answers `sends[i]` with its own status and body.',
      auth: 'apiKey',
      body: SendBatchRequest,
      response: { body: SendBatchResult },
    },
    async ({ body }, req): Promise<SendBatchResult> => {
      const { sends } = body;
      // Each send is checked (quota, idempotency key, recipients) and kept exactly as if it came
      // alone; they are started together, as concurrent sends would be, so that a store that commits
      // sends in groups (SQLite) keeps the whole batch with one sync, in order.
      const results: SendBatchResult['results'] = await Promise.all(
        sends.map((item) =>
          po.send(req.address, item as never).then(
            (body) => ({ status: 200 as const, body }),
            (err: unknown) => {
              const answer = errorAnswer(err, req.log);
              const retryAfter = Number(answer.headers['retry-after']);
              return {
                status: answer.status,
                body: answer.body,
                ...(Number.isFinite(retryAfter) ? { retry_after: retryAfter } : {}),
              };
            },
          ),
        ),
      );
      return { results };
    },
  );
}

/** Writes the inbox as Server-Sent Events until the client goes, the server closes, or a read fails. */
function streamInbox(
  po: PostOffice,
  req: FastifyRequest,
  reply: FastifyReply,
  s: {
    read: (cursor: string | undefined) => Promise<InboxPage>;
    first: InboxPage;
    /** Set by a wake-up since before the first read: that page may miss mail. */
    early: { landed: boolean };
    /** The subscription that sets `early`, ended once the feed listens itself. */
    listening: Subscription;
    cursor: string | undefined;
    closing: AbortSignal;
    settings: PushSettings;
  },
): void {
  reply.hijack();
  const res = reply.raw;
  const stop = new AbortController();
  const end = () => stop.abort();
  s.closing.addEventListener('abort', end);
  res.once('close', end);
  // A client that left while the first page was read closed the response before `end` listened.
  if (res.destroyed || req.raw.destroyed) stop.abort();
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-accel-buffering': 'no',
    [PUSH_HEADER]: '1',
  });
  const startedAt = Date.now();
  let pages = 0;
  const write = (chunk: string) => writeWithBackPressure(res, chunk, stop, s.settings.stalledMs, req);
  let first: InboxPage | undefined = s.first;
  const deliver = async (page: InboxPage) => {
    pages += 1;
    // One event per page: a client applies a page whole or not at all (an event cut by a dropped
    // connection is never dispatched), and resumes after the last whole page (`Last-Event-ID`).
    await write(`id: ${page.cursor ?? ''}\nevent: inbox\ndata: ${JSON.stringify(page)}\n\n`);
  };
  (async () => {
    await write('retry: 1000\n: inbox stream\n\n');
    await runInboxFeed({
      read: async (at) => {
        // The feed listens by now (its first read): the early subscription has done its part.
        s.listening.unsubscribe();
        const stale = first === undefined || s.early.landed;
        const page = stale ? await s.read(at) : (first as InboxPage);
        first = undefined;
        return page;
      },
      wakeups: po.wakeups(req.address),
      cursor: s.cursor,
      deliver,
      signal: stop.signal,
      rereadMs: s.settings.heartbeatMs,
      onTick: () => write(': keep-alive\n\n'),
    });
  })()
    .catch((err: unknown) => req.log.warn({ err }, 'inbox stream ended by a failure; the client resumes'))
    .finally(() => {
      s.listening.unsubscribe();
      s.closing.removeEventListener('abort', end);
      req.log.debug({ streamedMs: Date.now() - startedAt, pages }, 'inbox stream closed');
      if (!res.destroyed) res.end();
    });
}

/**
 * Writes a chunk; resolves once the socket took it (its buffer drained), so a slow client never
 * makes the server hold more than one page for it. A client that takes nothing for `stalledMs` is
 * cut off (it resumes from its last whole page).
 */
function writeWithBackPressure(
  res: ServerResponse,
  chunk: string,
  stop: AbortController,
  stalledMs: number,
  req: FastifyRequest,
): Promise<void> {
  if (stop.signal.aborted || res.destroyed) return Promise.resolve();
  if (res.write(chunk)) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      res.off('drain', done);
      stop.signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(() => {
      req.log.warn({ stalledMs }, 'inbox stream client takes no data; closing its stream');
      res.destroy();
      done();
    }, stalledMs);
    res.once('drain', done);
    stop.signal.addEventListener('abort', done);
  });
}
