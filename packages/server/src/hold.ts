import type { PostOffice } from '@mailroom/core';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** What {@link longPoll} reads, for whom, and how long it may hold the request. */
export type LongPoll<P extends { messages: readonly unknown[] }> = {
  po: PostOffice;
  req: FastifyRequest & { address: string };
  reply: FastifyReply;
  /** Aborts when the server closes: the poll answers with what it has. */
  closing: AbortSignal;
  /** How long the request may be held, in ms (0: one read). */
  waitMs: number;
  /** Reads again at least this often without a wake-up (something that wakes nobody, a lease running out). */
  recheckMs?: number;
  /** One read: an empty page (`messages: []`) means wait. */
  read(): Promise<P>;
};

/**
 * Reads, and while the page is empty holds the request until mail for the address lands (a
 * wake-up from this process or, on PostgreSQL, any replica), `waitMs` ends, the server closes or
 * the client goes away, then reads again. It listens for wake-ups before its first read, so mail
 * that lands while a read is under way makes the next read happen at once rather than at the end
 * of the wait.
 */
export async function longPoll<P extends { messages: readonly unknown[] }>(o: LongPoll<P>): Promise<P> {
  if (o.waitMs <= 0) return o.read();
  const { reply, closing } = o;
  let woken = false;
  let release: (() => void) | undefined;
  const wake = () => {
    woken = true;
    release?.();
  };
  const end = () => release?.();
  const sub = o.po.wakeups(o.req.address).subscribe(wake);
  closing.addEventListener('abort', end);
  reply.raw.once('close', end);
  try {
    const deadline = Date.now() + o.waitMs;
    // Nobody would get what a read finds once the client left (a claim would lease it for nobody).
    const gone = () => {
      if (!clientGone(reply)) return false;
      o.req.log.debug({ heldMs: o.waitMs - (deadline - Date.now()) }, 'long poll given up by the client');
      return true;
    };
    let page = await o.read();
    while (page.messages.length === 0) {
      const remaining = deadline - Date.now();
      if (remaining <= 0 || closing.aborted || gone()) break;
      if (!woken) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(remaining, o.recheckMs ?? remaining));
          release = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        release = undefined;
        if (gone()) break;
      }
      woken = false;
      page = await o.read();
    }
    return page;
  } finally {
    sub.unsubscribe();
    closing.removeEventListener('abort', end);
    reply.raw.off('close', end);
  }
}

/** True when the client gave up on the response (its socket closed). */
export const clientGone = (reply: FastifyReply): boolean => reply.raw.destroyed || reply.raw.writableEnded;
