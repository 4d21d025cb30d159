import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { networkReason } from './http-errors.js';

describe('networkReason', () => {
  it('names what a person can act on: the system code fetch hides in its cause, once', async () => {
    // A real refused connection, through fetch (message "fetch failed", code in the cause) …
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((r) => closed.close(() => r()));
    const refused = await fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect((refused as Error).message).toBe('fetch failed');
    expect(networkReason(refused)).toBe('ECONNREFUSED');
    // … through node:http (the code on the error itself), and anything else by its message.
    expect(networkReason(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe(
      'ECONNREFUSED',
    );
    expect(networkReason(new Error('socket hang up'))).toBe('socket hang up');
    expect(networkReason('odd')).toBe('odd');
  });
});
