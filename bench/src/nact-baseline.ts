import { dispatch, spawn, start, stop } from 'nact';

/** Raw nact: dispatches `n` messages to one actor and waits until the last is handled; messages/s. */
export async function nactRate(n: number): Promise<number> {
  const system = start();
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const actor = spawn(
    system,
    (count: number, _msg: number) => {
      if (count + 1 === n) done();
      return count + 1;
    },
    'sink',
    { initialState: 0, onCrash: (_m, _e, ctx) => ctx.resume },
  );
  const t0 = performance.now();
  for (let i = 0; i < n; i++) dispatch(actor, i);
  await finished;
  const ms = performance.now() - t0;
  stop(system);
  return (n / ms) * 1000;
}
