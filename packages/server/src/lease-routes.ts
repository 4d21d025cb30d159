import type { PostOffice } from '@mailroom/core';
import { ClaimQuery, LEASES_HEADER, LeasedPage, RenewRequest, RenewResult } from '@mailroom/core/post-office';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { longPoll } from './hold.js';
import { type App, announce, debugOn, type RouteBook } from './routes.js';

/**
 * A claim long poll with nothing to claim re-checks at least this often: a lease that runs out
 * wakes nobody, so a held claim looks again for mail whose lease ended.
 */
export const CLAIM_RECHECK_MS = 1_000;

/**
 * The lease extension's routes (worker pools on one address), when the post office has it:
 * `GET /email/claim` and `POST /email/lease`, and the `X-Mailroom-Leases: 1` header on every
 * authenticated response so that a client learns of it from its first call.
 */
export function registerLeaseRoutes(email: App, book: RouteBook, po: PostOffice, closing: AbortSignal): void {
  const { claim, renewLease } = po;
  if (!claim || !renewLease) return;
  announce(email, LEASES_HEADER);
  book.route(
    email,
    {
      method: 'GET',
      url: '/email/claim',
      summary: '[ext] leases: claim unread mail no other consumer holds (a worker pool on one address)',
      description: 'Only on a server whose responses carry `X-Mailroom-Leases: 1`.',
      auth: 'apiKey',
      query: ClaimQuery,
      response: { body: LeasedPage },
    },
    async ({ query }, req, reply) => {
      const page = await claimWithWait(po, req, reply, query, closing);
      if (debugOn(req.log)) {
        req.log.debug(
          { address: req.address, messages: page.messages.length, lease_id: page.lease_id ?? undefined },
          page.messages.length > 0 ? 'mail claimed' : 'claim answered: nothing to claim',
        );
      }
      return page;
    },
  );
  book.route(
    email,
    {
      method: 'POST',
      url: '/email/lease',
      summary: '[ext] leases: renew (or, with `lease_seconds: 0`, release) what a lease still holds',
      auth: 'apiKey',
      body: RenewRequest,
      response: { body: RenewResult },
    },
    async ({ body }, req) => renewLease.call(po, req.address, body),
  );
}

function claimWithWait(
  po: PostOffice,
  req: FastifyRequest,
  reply: FastifyReply,
  query: ReturnType<typeof ClaimQuery.parse>,
  closing: AbortSignal,
): Promise<LeasedPage> {
  const { wait, ...rest } = query;
  const claim = (po.claim as NonNullable<PostOffice['claim']>).bind(po);
  return longPoll({
    po,
    req,
    reply,
    closing,
    waitMs: (wait ?? 0) * 1000,
    recheckMs: CLAIM_RECHECK_MS,
    read: () => claim(req.address, rest),
  });
}
