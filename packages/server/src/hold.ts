import type { PostOffice } from '@mailroom/core';
import type { FastifyReply } from 'fastify';

/**
 * Holds a long poll for up to `ms`: resolves on the first of a wake-up for `address` (mail sent
 * through this process or, on PostgreSQL, any replica), the end of `ms`, the server closing, or the
 * client going away.
 */
export function holdFor(
  po: PostOffice,
  address: string,
  reply: FastifyReply,
  ms: number,
  closing: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      sub.unsubscribe();
      closing.removeEventListener('abort', done);
      reply.raw.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const sub = po.wakeups(address).subscribe(done);
    closing.addEventListener('abort', done);
    reply.raw.once('close', done);
  });
}

/** True when the client gave up on the response (its socket closed). */
export const clientGone = (reply: FastifyReply): boolean => reply.raw.destroyed || reply.raw.writableEnded;
