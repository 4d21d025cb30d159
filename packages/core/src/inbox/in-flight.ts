import { type Observable, Subject } from 'rxjs';
import { StringSet } from './string-set.js';

/**
 * The message ids handed to a consumer and not yet settled. The inbox stream adds to it and never
 * re-emits what it holds; the consumer settles ids once they are marked read (or released for
 * redelivery after a failure).
 */
export class InFlight {
  private readonly ids = new StringSet();
  private readonly changes = new Subject<{ redeliver: boolean }>();

  /** Emits after every `settle`; `redeliver` says whether any id was released without being marked read. */
  readonly settled$: Observable<{ redeliver: boolean }> = this.changes.asObservable();

  get size(): number {
    return this.ids.size;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    this.ids.add(id);
  }

  /** Adds `id` unless it is in flight already: true when it was added (one lookup, not two). */
  take(id: string): boolean {
    return this.ids.add(id);
  }

  /** Settles ids: marked read, or released so that the stream may deliver them again. */
  settle(ids: Iterable<string>, redeliver = false): void {
    for (const id of ids) this.ids.delete(id);
    this.changes.next({ redeliver });
  }
}
