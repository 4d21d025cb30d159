/** The waiters of each signal: one real listener per signal, however many wait on it. */
const waiters = new WeakMap<AbortSignal, Set<{ fn: () => void }>>();

/**
 * Calls `fn` once when `signal` aborts (at once if it has); returns the way to stop waiting.
 * However many wait on one signal — a thousand `collect`s on one agent — the signal holds one
 * listener, so Node never warns of a possible leak (MaxListenersExceededWarning).
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) {
    fn();
    return () => {};
  }
  let set = waiters.get(signal);
  if (!set) {
    const mine = new Set<{ fn: () => void }>();
    set = mine;
    waiters.set(signal, mine);
    signal.addEventListener(
      'abort',
      () => {
        waiters.delete(signal);
        for (const w of [...mine]) w.fn();
      },
      { once: true },
    );
  }
  const entry = { fn };
  set.add(entry);
  const from = set;
  return () => {
    from.delete(entry);
  };
}
