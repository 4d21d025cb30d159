import { type Observable, Subject } from 'rxjs';

/** Wake-up signals per address: a post office notifies, inbox streams listen. */
export class WakeUps {
  private readonly subjects = new Map<string, Subject<void>>();

  /** Emits whenever new mail lands for `address`. */
  for(address: string): Observable<void> {
    let subject = this.subjects.get(address);
    if (!subject) {
      subject = new Subject<void>();
      this.subjects.set(address, subject);
    }
    return subject.asObservable();
  }

  /** Wakes whoever listens for `address` (nothing happens when nobody does). */
  notify(address: string): void {
    this.subjects.get(address)?.next();
  }

  /** Wakes whoever listens for any address (wake-ups may have been missed: everyone looks again). */
  notifyAll(): void {
    for (const s of this.subjects.values()) s.next();
  }

  /** Ends every stream of wake-ups. */
  complete(): void {
    for (const s of this.subjects.values()) s.complete();
    this.subjects.clear();
  }
}
