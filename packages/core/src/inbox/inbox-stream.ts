import { Observable, type SchedulerLike } from 'rxjs';
import type { Mailbox } from '../mailbox/mailbox.js';
import type { Message } from '../wire/model.js';
import { InFlight } from './in-flight.js';
import type { InboxStreamOptions } from './inbox-options.js';
import { leasedInboxStream, usesLeases } from './leased-inbox-stream.js';
import { PollLoop, streamSettings } from './poll-loop.js';
import { pushedInboxStream, usesPush } from './pushed-inbox-stream.js';

type Phase = 'polling' | 'waiting' | 'paused' | 'closed';

/**
 * A cold stream of a mailbox's unread mail, in pages (oldest first). It polls
 * `inbox({ unread_only: true })`, re-polls at once after a full page, backs off while the inbox is
 * empty, polls at once on a wake-up, retries failures with backoff and jitter (never erroring),
 * never re-emits a message still in flight, and stops cleanly on unsubscribe. Where the mailbox
 * offers push (`mailbox.push`), it takes its mail from the push stream instead, and falls back to
 * this polling when push turns out not to be offered.
 */
export function inboxStream(mailbox: Mailbox, options: InboxStreamOptions = {}): Observable<Message[]> {
  if (usesLeases(mailbox, options)) return leasedInboxStream(mailbox, options);
  if (usesPush(mailbox, options)) return pushedInboxStream(mailbox, options, (o) => inboxStream(mailbox, o));
  const settings = streamSettings(options, 50);
  const { limit, minBackoff, maxBackoff, heartbeat, maxInFlight, longPollSeconds, minPollInterval } = settings;
  const { scheduler, wakeScheduler } = settings;

  return new Observable<Message[]>((subscriber) => {
    const inFlight = options.inFlight ?? new InFlight();
    const loop = new PollLoop(settings, poll, options.timer);
    const wakeups = mailbox.wakeups?.();
    let phase: Phase = 'waiting';
    /** Aborts the long poll in progress, if any. */
    let giveUp: (() => void) | undefined;
    let idleDelay = 0;
    let cursor: string | undefined;
    let again = false;
    /** The last page was empty: the next request may wait on the server (long poll). */
    let drained = false;
    /** Cursor after the last page seen, for a long poll that waits for newer mail. */
    let tail: string | undefined;
    let tailing = false;
    const longPolling = () => longPollSeconds > 0 && mailbox.longPoll === true;
    /** When the last page with fresh mail went out: a stream busy this recently batches. */
    let lastEmitAt = Number.NEGATIVE_INFINITY;
    /** When the poll in progress started: an empty page is not followed sooner than the floor. */
    let polledAt = Number.NEGATIVE_INFINITY;

    const wait = (delayMs: number, on: SchedulerLike = scheduler) => {
      phase = 'waiting';
      loop.next(delayMs, on);
    };

    const idle = () => {
      if (wakeups) return heartbeat;
      idleDelay = idleDelay === 0 ? minBackoff : Math.min(maxBackoff, idleDelay * 2);
      return idleDelay;
    };

    function poll(): void {
      if (phase === 'closed') return;
      loop.started();
      if (inFlight.size >= maxInFlight) {
        phase = 'paused';
        return;
      }
      phase = 'polling';
      polledAt = scheduler.now();
      again = false;
      // Long poll: wait on the server for mail after the last page seen (tail), or for any
      // unread mail once a sweep found none (drained).
      const lp = longPolling() && cursor === undefined && (tail !== undefined || drained);
      tailing = lp && tail !== undefined;
      const at = cursor ?? (tailing ? tail : undefined);
      const query = {
        unread_only: true,
        limit,
        ...(at !== undefined ? { cursor: at } : {}),
        ...(lp ? { wait: longPollSeconds } : {}),
      };
      // A long poll is given up when the stream closes: stop() need not wait for the server.
      if (lp) {
        const holding = new AbortController();
        giveUp = () => holding.abort();
        mailbox.inbox(query, { signal: holding.signal }).then(onPage, onError);
      } else mailbox.inbox(query).then(onPage, onError);
    }

    function onPage(page: { messages: Message[]; has_more: boolean; cursor: string | null }): void {
      giveUp = undefined;
      if (phase === 'closed') return;
      loop.succeeded();
      const messages = page.messages.length > 1 ? sortByArrival(page.messages) : page.messages;
      const fresh: Message[] = [];
      for (const m of messages) {
        if (!inFlight.take(m.message_id)) continue;
        fresh.push(m);
      }
      const wasTailing = tailing;
      drained = page.messages.length === 0 && !wasTailing;
      // After a non-empty page the next long poll waits for what comes after it; an empty tail
      // poll is followed by a fresh sweep (mail marked unread again, released mail).
      tail =
        page.messages.length > 0 && !page.has_more
          ? (page.cursor ?? undefined)
          : wasTailing && page.messages.length === 0
            ? undefined
            : tail;
      const nextCursor = page.has_more && page.cursor ? page.cursor : undefined;
      const progressed = fresh.length > 0 || (nextCursor !== undefined && nextCursor !== cursor);
      cursor = nextCursor;
      if (fresh.length > 0) {
        lastEmitAt = scheduler.now();
        subscriber.next(fresh);
      }
      if ((phase as Phase) === 'closed') return;
      const full = page.has_more || page.messages.length >= limit;
      // No mail: the next poll waits out the floor, however soon the server answered.
      const floor = page.messages.length === 0 ? Math.max(0, minPollInterval - (scheduler.now() - polledAt)) : 0;
      if ((full && progressed) || again) {
        idleDelay = 0;
        if (!full) cursor = undefined;
        wait(floor);
      } else if (longPolling() && (tail !== undefined || drained || wasTailing)) {
        // The next request waits on the server (or sweeps once after an empty tail poll).
        idleDelay = 0;
        cursor = undefined;
        wait(floor);
      } else if (fresh.length > 0) {
        idleDelay = 0;
        wait(wakeups ? heartbeat : minBackoff);
      } else {
        cursor = undefined;
        wait(Math.max(idle(), floor));
      }
    }

    function onError(error: unknown): void {
      giveUp = undefined;
      if (phase === 'closed') return;
      cursor = undefined;
      drained = false;
      tail = undefined;
      const delay = loop.failed();
      options.logger?.warn({ err: error, retryInMs: delay, address: mailbox.address }, 'inbox poll failed; retrying');
      wait(delay);
    }

    const wake = () => {
      if (phase === 'polling') again = true;
      // A poll already due at once takes the new mail too (every send wakes: most find one due).
      else if (phase === 'waiting' && !loop.due) {
        const idle = inFlight.size === 0 && scheduler.now() - lastEmitAt >= 1;
        wait(0, idle ? wakeScheduler : scheduler);
      }
    };
    const wakeSub = wakeups?.subscribe(wake);
    const settledSub = inFlight.settled$.subscribe(({ redeliver }) => {
      if (phase === 'paused' && inFlight.size < maxInFlight) wait(0);
      else if (redeliver) wake();
    });
    wait(0);

    return () => {
      phase = 'closed';
      loop.cancel();
      giveUp?.();
      wakeSub?.unsubscribe();
      settledSub.unsubscribe();
    };
  });
}

/** Oldest first by `created_at`; ties keep the order received. */
function sortByArrival(messages: Message[]): Message[] {
  let sorted = true;
  for (let i = 1; i < messages.length; i++) {
    if ((messages[i - 1] as Message).created_at > (messages[i] as Message).created_at) {
      sorted = false;
      break;
    }
  }
  if (sorted) return messages;
  return messages
    .map((m, i) => ({ m, i, t: Date.parse(m.created_at) }))
    .sort((x, y) => x.t - y.t || x.i - y.i)
    .map((x) => x.m);
}
