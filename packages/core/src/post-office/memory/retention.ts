import { z } from 'zod';
import { Fifo } from '../../time/fifo.js';
import { parseOrThrow } from '../../wire/parse.js';
import { finished } from './memory-copies.js';
import { GONE, type Stored } from './memory-store.js';

const RetentionOptions = z.object({ maxMessages: z.number().int().min(1) });

/** How much mail the embedded post office keeps. */
export type RetentionOptions = {
  /**
   * Past this many messages, the ones every recipient has read (or deleted) are forgotten, those
   * finished first going first. Unread mail is never forgotten, so the office may hold more while
   * it waits.
   */
  maxMessages: number;
};

/**
 * Keeps the embedded post office to `maxMessages`. Messages join a queue the moment they are
 * finished (read or deleted by every recipient), so unread mail is never looked at and each
 * message costs O(1) to forget.
 */
export class Retention {
  private readonly max: number;
  private readonly done = new Fifo<Stored>();

  constructor(
    options: RetentionOptions,
    private readonly forget: (stored: Stored) => void,
  ) {
    this.max = parseOrThrow(RetentionOptions, options, 'retention options').maxMessages;
  }

  /** A copy of `stored` was read or deleted: queue the message if that finished it. */
  touched(stored: Stored): void {
    if ((stored.flags & GONE) === 0 && finished(stored)) this.done.push(stored);
  }

  /** Forgets finished mail, first finished first, while more than `maxMessages` are kept. */
  trim(kept: () => number): void {
    while (kept() > this.max) {
      const stored = this.done.shift();
      if (stored === undefined) return;
      // Queued twice (read, unread, read again) or unread again since: skip it.
      if ((stored.flags & GONE) === 0 && finished(stored)) this.forget(stored);
    }
  }
}
