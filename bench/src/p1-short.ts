// P1's agent-to-agent loop alone, for instruction counts and profiles (not part of `pnpm bench`):
//   node --expose-gc bench/dist/p1-short.js N [W=20000] [core=@mailroom/core]
//   node --expose-gc bench/dist/p1-short.js --nact N
// sends N messages from one agent to another on the embedded post office (each handled and marked
// read), the first W of them a warm-up left out of the timing; or dispatches N messages to one raw
// nact actor. Under callgrind, (count at N = 60 000 − count at N = 20 000) / 40 000 is the cost
// of one message with start-up and warm-up taken out. `core` lets one script drive another
// worktree's build (`<worktree>/packages/core/dist/index.js`), so that both sides run the same loop.
import { nactRate } from './nact-baseline.js';

async function agents(n: number, w: number, core: string): Promise<void> {
  const { Agent, createRuntime, MemoryPostOffice } = (await import(core)) as typeof import('@mailroom/core');
  const postOffice = new MemoryPostOffice({ limits: { hourly: 10 * n, daily: 10 * n } });
  const runtime = createRuntime({ postOffice });
  let handled = 0;
  let done!: () => void;
  let warm!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const warmed = new Promise<void>((r) => (warm = r));
  class Sink extends Agent {
    override onMessage() {
      handled += 1;
      if (handled === w) warm();
      if (handled === n) done();
    }
  }
  const sink = await runtime.spawn(new Sink(), { id: 'sink', inbox: { limit: 100, maxInFlight: 2000 } });
  const source = await runtime.spawn(new (class Source extends Agent {})(), { id: 'source' });
  for (let i = 0; i < w; i++) await source.send(sink.address, 'ping', '');
  if (w > 0) await warmed;
  const t0 = performance.now();
  for (let i = w; i < n; i++) await source.send(sink.address, 'ping', '');
  await finished;
  await sink.stop();
  const ms = performance.now() - t0;
  const unread = (await postOffice.inbox(sink.address, { unread_only: true, limit: 1 })).unread_count;
  // The heap the office holds for its n messages (with --expose-gc; compare two n for bytes a message).
  globalThis.gc?.();
  const heap = process.memoryUsage().heapUsed;
  await runtime.stop();
  console.log(
    `${n - w} messages in ${Math.round(ms)} ms: ${Math.round(((n - w) / ms) * 1000)}/s, unread ${unread}, heap ${heap}`,
  );
}

async function nact(n: number): Promise<void> {
  const rate = await nactRate(n);
  console.log(`nact: ${n} messages in ${Math.round((n / rate) * 1000)} ms: ${Math.round(rate)}/s`);
}

const args = process.argv.slice(2);
if (args[0] === '--nact') await nact(Number(args[1] ?? 200_000));
else await agents(Number(args[0] ?? 60_000), Number(args[1] ?? 20_000), args[2] ?? '@mailroom/core');
