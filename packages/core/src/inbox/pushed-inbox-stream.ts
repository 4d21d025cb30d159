import { Observable, type Subscription } from 'rxjs';
import { AuthError, NotFoundError } from '../errors.js';
import type { Mailbox } from '../mailbox/mailbox.js';
import type { Message } from '../wire/model.js';
import { InFlight } from './in-flight.js';
import type { InboxStreamOptions } from './inbox-options.js';
import { PollLoop, streamSettings } from './poll-loop.js';

/** True when the inbox stream takes its mail from the mailbox's push stream. */
export function usesPush(mailbox: Mailbox, options: InboxStreamOptions): boolean {
  return options.push !== false && mailbox.push === true && mailbox.inboxPush !== undefined;
}

/**
 * The inbox stream over push (`Mailbox.inboxPush`): one held stream of unread mail instead of a
 * request per page. Never re-emits a message in flight; at `maxInFlight` it closes the push stream
 * and reopens it from its cursor once mail settles (back-pressure); after mail is released for
 * redelivery, and every `heartbeatMs`, it reopens from the start (unread mail behind the cursor —
 * released, marked unread again — comes back; what is in flight is skipped). When push turns out
 * not to be offered, it goes on with `fallback` (long poll, then plain polling).
 */
export function pushedInboxStream(
  mailbox: Mailbox,
  options: InboxStreamOptions,
  fallback: (options: InboxStreamOptions) => Observable<Message[]>,
): Observable<Message[]> {
  const settings = streamSettings(options, 50);
  const { limit, maxInFlight, heartbeat } = settings;
  return new Observable<Message[]>((subscriber) => {
    const inFlight = options.inFlight ?? new InFlight();
    const loop = new PollLoop(settings, () => open(cursor), options.timer);
    let sub: Subscription | undefined;
    let cursor: string | undefined;
    let closed = false;
    let paused = false;
    let cancelSweep: (() => void) | undefined;

    const sweepLater = () => {
      cancelSweep?.();
      cancelSweep = loop.timer.after(heartbeat, () => {
        if (!paused) open(undefined);
        else sweepLater();
      });
    };

    function open(from: string | undefined): void {
      loop.started();
      if (closed) return;
      sub?.unsubscribe();
      cursor = from;
      const push = mailbox.inboxPush as NonNullable<Mailbox['inboxPush']>;
      sub = push
        .call(mailbox, { unread_only: true, limit, ...(from !== undefined ? { cursor: from } : {}) })
        .subscribe({ next: onPage, error: onError });
      sweepLater();
    }

    function onPage(page: { messages: Message[]; cursor: string | null }): void {
      if (closed) return;
      loop.succeeded();
      cursor = page.cursor ?? cursor;
      const fresh: Message[] = [];
      for (const m of page.messages) {
        if (!inFlight.take(m.message_id)) continue;
        fresh.push(m);
      }
      if (fresh.length > 0) subscriber.next(fresh);
      if (!closed && inFlight.size >= maxInFlight && !paused) {
        paused = true;
        sub?.unsubscribe();
        sub = undefined;
      }
    }

    function onError(error: unknown): void {
      sub = undefined;
      if (closed) return;
      if (error instanceof NotFoundError) {
        options.logger?.info({ address: mailbox.address }, 'push not offered here; polling instead');
        cancelSweep?.();
        sub = fallback({ ...options, inFlight, push: false }).subscribe(subscriber);
        return;
      }
      if (error instanceof AuthError) {
        options.logger?.error({ err: error, address: mailbox.address }, 'inbox push refused; retrying');
      }
      const delay = loop.failed();
      options.logger?.warn({ err: error, retryInMs: delay, address: mailbox.address }, 'inbox push failed; retrying');
      loop.next(delay);
    }

    const settledSub = inFlight.settled$.subscribe(({ redeliver }) => {
      if (closed) return;
      if (redeliver) {
        paused = inFlight.size >= maxInFlight;
        if (!paused) open(undefined);
      } else if (paused && inFlight.size < maxInFlight) {
        paused = false;
        open(cursor);
      }
    });
    open(undefined);

    return () => {
      closed = true;
      loop.cancel();
      cancelSweep?.();
      sub?.unsubscribe();
      settledSub.unsubscribe();
    };
  });
}
