import type { PostOffice } from '@mailroom/core';
import type { FastifyInstance, FastifySchema } from 'fastify';
import type { Subscription } from 'rxjs';
import type { DashboardAuth } from './auth.js';
import { addressesOf } from './data.js';
import { SECURITY_HEADERS } from './headers.js';
import type { SessionStore } from './session.js';

/** Routes of the dashboard are not part of the API: kept out of the OpenAPI document. */
export const HIDDEN = { schema: { hide: true } as unknown as FastifySchema };

/**
 * `GET /ui/events`: live updates for the pages of a session, as Server-Sent Events — an `event:
 * mail` whenever mail lands in a mailbox the session may see, a keep-alive at every heartbeat
 * (which also ends the stream with its session), and the end of the stream when the server closes.
 */
export function registerLiveUpdates(
  ui: FastifyInstance,
  deps: {
    po: PostOffice;
    auth: DashboardAuth;
    sessions: SessionStore;
    heartbeatMs: number;
    closing: AbortSignal;
  },
): void {
  ui.get('/events', HIDDEN, async (req, reply) => {
    const session = await deps.auth.sessionOf(req);
    if (!session) return reply.code(401).send({ detail: 'not signed in to the dashboard' });
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    const subscriptions = new Map<string, Subscription>();
    let ended = false;
    const watch = async () => {
      for (const address of await addressesOf(deps.po, session.principal)) {
        if (ended || subscriptions.has(address)) continue;
        subscriptions.set(
          address,
          deps.po.wakeups(address).subscribe(() => {
            if (!ended) res.write('event: mail\ndata: {}\n\n');
          }),
        );
      }
    };
    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      deps.closing.removeEventListener('abort', end);
      for (const s of subscriptions.values()) s.unsubscribe();
      res.end();
    };
    const beat = async () => {
      // Ends with its session: expired, signed out, or its account's key rotated or revoked.
      if (!deps.sessions.alive(session.id) || !(await deps.auth.stillValid(session, req))) return end();
      if (ended) return;
      res.write(': keep-alive\n\n');
      // The admin sees accounts registered since the stream opened.
      if (session.principal.kind === 'admin') await watch();
    };
    const heartbeat = setInterval(() => {
      beat().catch((err: unknown) =>
        req.log.warn({ err }, 'live updates: could not check the session or list accounts'),
      );
    }, deps.heartbeatMs);
    heartbeat.unref();
    deps.closing.addEventListener('abort', end);
    if (deps.closing.aborted) return end();
    req.raw.on('close', end);
    res.on('close', end);
    await watch().catch((err: unknown) => {
      req.log.warn({ err }, 'live updates: could not watch the mailboxes');
      end();
    });
    // The first bytes (and the headers) go out once every mailbox is watched: a page that saw
    // the stream open misses no mail sent after that.
    if (!ended) res.write('retry: 3000\n\n');
  });
}
