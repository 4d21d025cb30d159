import type { Logger } from 'pino';
import { NotFoundError } from '../errors.js';
import type { InFlight } from '../inbox/in-flight.js';
import type { Mailbox } from '../mailbox/mailbox.js';

/** The API marks at most this many messages read in one call. */
const BATCH = 100;

/**
 * Marks handled mail read, after its handler: one `markRead` at a time, each taking every id that
 * settled while the last was on its way (handlers finish one by one, the post office hears of them
 * in batches). An id leaves the in-flight set only once its mark-read came back. @internal
 */
export class ReadMarks {
  private queue: string[] = [];
  private flushing = false;

  constructor(
    private readonly mailbox: Mailbox,
    private readonly inFlight: InFlight,
    private readonly logs: { readonly log: Logger },
    /** Called when the last batch came back and nothing waits. */
    private readonly onIdle: () => void,
  ) {}

  /** True while ids wait or a batch is on its way. */
  get busy(): boolean {
    return this.flushing || this.queue.length > 0;
  }

  add(id: string): void {
    this.queue.push(id);
    if (this.flushing) return;
    this.flushing = true;
    // The ids of handlers that end in this same turn go out together.
    queueMicrotask(() => void this.flush());
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const ids = this.queue.length <= BATCH ? this.queue : this.queue.slice(0, BATCH);
      this.queue = this.queue.length <= BATCH ? [] : this.queue.slice(BATCH);
      await this.mark(ids);
      this.inFlight.settle(ids);
    }
    this.flushing = false;
    this.onIdle();
  }

  /**
   * A batch is all or nothing: one message gone (deleted, or forgotten by the post office) fails
   * it with `NotFoundError` and marks none. Then each is marked alone, so the rest are not
   * delivered again; the one that is gone needs no mark.
   */
  private async mark(ids: readonly string[]): Promise<void> {
    try {
      await this.mailbox.markRead(ids);
      return;
    } catch (err) {
      if (!(err instanceof NotFoundError)) {
        this.logs.log.warn({ err, count: ids.length }, 'could not mark handled mail read; it will be settled again');
        return;
      }
      if (ids.length === 1) {
        this.logs.log.debug({ message_id: ids[0] }, 'handled mail is gone from the post office; nothing to mark');
        return;
      }
    }
    for (const id of ids) await this.mark([id]);
  }
}
