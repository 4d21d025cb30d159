import { MailboxError, ValidationError } from '@mailroom/core';
import type { SendBatchItem, SendRequest, SendResult } from '@mailroom/core/post-office';

type Waiting = { body: SendRequest; resolve: (r: SendResult) => void; reject: (e: unknown) => void };

/** How the batcher reaches the server. */
export type SendRoutes = {
  /** `POST /email/send`. */
  one(body: SendRequest): Promise<SendResult>;
  /** `POST /email/send/batch`, or `undefined` when the server turned out not to offer it. */
  many(bodies: SendRequest[]): Promise<SendBatchItem[] | undefined>;
  /** Whether to batch now (the server announced the extension). */
  offered(): boolean;
  /** Whether a 429 item is waited out (sent again alone) rather than thrown at once. */
  waitsOut(item: Exclude<SendBatchItem, { status: 200 }>): boolean;
  /** The error of one item of a batch that failed. */
  errorOf(item: Exclude<SendBatchItem, { status: 200 }>): Error;
};

/** Largest batch the extension takes. */
const MAX_BATCH = 100;
/** A batch stays well under the server's body limit (1 MiB by default): larger sends go alone. */
const MAX_BATCH_BYTES = 256 * 1024;

/**
 * How many of the first sends of `queue` go out together: up to 100, and up to 256 KiB of JSON
 * (each send measured as it is written, escapes and all).
 */
function groupSize(queue: readonly Waiting[]): number {
  let bytes = 0;
  let n = 0;
  for (const { body } of queue) {
    bytes += Buffer.byteLength(JSON.stringify(body)) + 1;
    if (n > 0 && (bytes > MAX_BATCH_BYTES || n >= MAX_BATCH)) break;
    n += 1;
  }
  return n;
}

/**
 * Coalesces sends that are called close together: the sends of one turn of the event loop, and
 * those called while `maxInFlight` requests are on their way, go out as one batch request (each
 * keeps its own idempotency key, quota check and answer). A send alone goes out alone. An item the
 * server could not take now (`503`, or a `429` short enough to wait out) is sent again alone, under
 * the usual retry rules.
 */
export class SendBatcher {
  private queue: Waiting[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly routes: SendRoutes,
    private readonly maxInFlight: number,
  ) {}

  send(body: SendRequest): Promise<SendResult> {
    if (this.maxInFlight === 0 || !this.routes.offered()) return this.routes.one(body);
    return new Promise<SendResult>((resolve, reject) => {
      this.queue.push({ body, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  private flush(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const group = this.queue.splice(0, groupSize(this.queue));
      this.inFlight += 1;
      const sent = group.length === 1 ? this.sendOne(group[0] as Waiting) : this.sendMany(group);
      void sent.finally(() => {
        this.inFlight -= 1;
        this.flush();
      });
    }
  }

  private sendOne(w: Waiting): Promise<void> {
    return this.routes.one(w.body).then(w.resolve, w.reject);
  }

  private async sendMany(group: Waiting[]): Promise<void> {
    let items: SendBatchItem[] | undefined;
    try {
      items = await this.routes.many(group.map((w) => w.body));
    } catch (err) {
      // The batch as a whole was too large for the server (413): each send goes alone, and only
      // one that is too large by itself fails.
      if (err instanceof ValidationError && err.issues.some((i) => i.type === 'too_large')) {
        await Promise.all(group.map((w) => this.sendOne(w)));
        return;
      }
      for (const w of group) w.reject(err);
      return;
    }
    if (!items) {
      // Not offered after all: one by one.
      await Promise.all(group.map((w) => this.sendOne(w)));
      return;
    }
    const again: Promise<void>[] = [];
    group.forEach((w, i) => {
      const item = items[i];
      if (!item) w.reject(new MailboxError('batch send: the answer lacks this send', 200));
      else if (item.status === 200) w.resolve(item.body as SendResult);
      else if (item.status === 503 || (item.status === 429 && this.routes.waitsOut(item))) again.push(this.sendOne(w));
      else w.reject(this.routes.errorOf(item));
    });
    await Promise.all(again);
  }
}
