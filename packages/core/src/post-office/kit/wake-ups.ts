import { Observable, type Subscriber } from 'rxjs';

/**
 * Wake-up signals per address: a post office notifies, inbox streams listen. Every send notifies
 * its recipients, so `notify` is a plain loop over the address's subscribers (a `Subject` per
 * address cost a closure, an iterator and its error-context wrapper per send). The list of an
 * address is replaced, never changed in place, so a subscriber that comes or goes while one is
 * woken does not change who that notification reaches (a closed subscriber ignores it).
 */
export class WakeUps {
  private readonly listeners = new Map<string, Subscriber<void>[]>();

  /** Emits whenever new mail lands for `address`. */
  for(address: string): Observable<void> {
    return new Observable<void>((subscriber) => {
      this.listeners.set(address, [...(this.listeners.get(address) ?? []), subscriber]);
      return () => {
        const list = this.listeners.get(address);
        if (!list?.includes(subscriber)) return;
        const rest = list.filter((s) => s !== subscriber);
        if (rest.length > 0) this.listeners.set(address, rest);
        else this.listeners.delete(address);
      };
    });
  }

  /** Wakes whoever listens for `address` (nothing happens when nobody does). */
  notify(address: string): void {
    const list = this.listeners.get(address);
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) (list[i] as Subscriber<void>).next();
  }

  /** Wakes whoever listens for any address (wake-ups may have been missed: everyone looks again). */
  notifyAll(): void {
    for (const list of [...this.listeners.values()]) for (const s of list) s.next();
  }

  /** Ends every stream of wake-ups. */
  complete(): void {
    const lists = [...this.listeners.values()];
    this.listeners.clear();
    for (const list of lists) for (const s of list) s.complete();
  }
}
