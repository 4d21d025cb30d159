import type { Observable } from 'rxjs';
import { MailboxError } from '../errors.js';
import type { InboxPage } from '../wire/model.js';

/** What {@link runInboxFeed} reads, where it delivers, and when it stops. */
export type InboxFeedOptions = {
  /** One page of the inbox after `cursor` (from the start without one), with the feed's filters. */
  read(cursor: string | undefined): Promise<InboxPage>;
  /** Emits when new mail may have landed: the feed reads at once. */
  wakeups: Observable<unknown>;
  /** Where the feed starts (after this page). @default the start of the list */
  cursor?: string | undefined;
  /** Called with each non-empty page, in order; the next read waits until it resolves (back-pressure). */
  deliver(page: InboxPage): void | Promise<void>;
  /** The feed stops when this aborts (the promise resolves). */
  signal: AbortSignal;
  /**
   * The longest wait without a read: mail that lands without a wake-up (another process on one
   * SQLite file) is found this late at most. Each such tick calls `onTick` first.
   */
  rereadMs: number;
  /** Called on each tick of `rereadMs` without a wake-up (a keep-alive, for a network stream). */
  onTick?(): void | Promise<void>;
};

/**
 * Reads an inbox from a cursor on and hands over each page as mail lands: every message once, in
 * order, none skipped — the next read starts at the cursor of the last page delivered, and a
 * wake-up during a read makes the next read happen at once. Resolves when `signal` aborts; rejects
 * with the error of a failed read or delivery (the caller resumes from the last delivered cursor).
 */
export async function runInboxFeed(o: InboxFeedOptions): Promise<void> {
  let cursor = o.cursor;
  let woken = true;
  let release: (() => void) | undefined;
  const sub = o.wakeups.subscribe(() => {
    woken = true;
    release?.();
  });
  const onAbort = () => release?.();
  o.signal.addEventListener('abort', onAbort);
  try {
    while (!o.signal.aborted) {
      if (!woken) {
        let ticked = false;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            ticked = true;
            resolve();
          }, o.rereadMs);
          release = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        release = undefined;
        if (o.signal.aborted) break;
        if (ticked) await o.onTick?.();
      }
      woken = false;
      const page = await o.read(cursor);
      if (o.signal.aborted) break;
      if (page.messages.length > 0) {
        // Without a cursor after it, the feed could only read this page again.
        if (page.cursor === null) throw new MailboxError('the post office gave no cursor after a page of mail');
        await o.deliver(page);
        cursor = page.cursor ?? cursor;
        if (page.has_more) woken = true;
      }
    }
  } finally {
    sub.unsubscribe();
    o.signal.removeEventListener('abort', onAbort);
  }
}
