import { createServer } from 'node:http';
import { MailboxError, NotFoundError, RateLimitedError } from '@mailroom/core';
import { describe, expect, it } from 'vitest';
import { afterFastAttempt, type FastAnswer, FastPost } from './fast-post.js';

const answer = (status: number, headers: Record<string, string> = {}, data: unknown = {}): FastAnswer => ({
  status,
  data,
  headers: { get: (name) => headers[name] ?? null },
});

describe('afterFastAttempt: what follows the first attempt of a send or read mark', () => {
  it('takes a 2xx as the answer', () => {
    expect(afterFastAttempt(answer(200, {}, { marked: 1 }), 30_000)).toEqual({ next: 'answer', data: { marked: 1 } });
  });

  it('goes the usual way (with its retries) after no answer, a 408 or a 5xx, at once', () => {
    for (const a of [undefined, answer(408), answer(500), answer(503), answer(503, { 'retry-after': '600' })]) {
      expect(afterFastAttempt(a, 30_000)).toEqual({ next: 'usual', waitMs: 0 });
    }
  });

  it("waits out a 503's Retry-After first, as the usual way would", () => {
    expect(afterFastAttempt(answer(503, { 'retry-after': '1' }), 30_000)).toEqual({ next: 'usual', waitMs: 1000 });
  });

  it("waits out a 429's Retry-After when it is short enough, then goes the usual way", () => {
    expect(afterFastAttempt(answer(429, { 'retry-after': '2' }), 30_000)).toEqual({ next: 'usual', waitMs: 2000 });
  });

  it('throws what the usual way would: a long 429, a 4xx, a redirect', () => {
    const long = afterFastAttempt(answer(429, { 'retry-after': '60' }, { detail: 'over quota' }), 30_000);
    expect(long.next === 'throw' && long.error).toBeInstanceOf(RateLimitedError);
    const missing = afterFastAttempt(answer(404, {}, { detail: 'no such message' }), 30_000);
    expect(missing.next === 'throw' && missing.error).toBeInstanceOf(NotFoundError);
    const moved = afterFastAttempt(answer(307, { location: 'http://elsewhere/' }, undefined), 30_000);
    expect(moved.next === 'throw' && moved.error).toBeInstanceOf(MailboxError);
  });

  it('throws a 429 whose Retry-After is past what the call has left (maxWaitMs), as the usual way would', () => {
    const late = afterFastAttempt(answer(429, { 'retry-after': '2' }, { detail: 'over quota' }), 1_000);
    expect(late.next === 'throw' && late.error).toBeInstanceOf(RateLimitedError);
  });
});

describe('FastPost', () => {
  it('gives up an answer that trickles in past its timeout (the whole attempt is timed, not each idle gap)', async () => {
    const drips = new Set<NodeJS.Timeout>();
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      const drip = setInterval(() => res.write(' '), 20);
      drips.add(drip);
      res.on('close', () => clearInterval(drip));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as { port: number };
      const fast = new FastPost(`http://127.0.0.1:${port}`, 'key', 200, undefined);
      await expect(fast.post('email/send', { to: ['x@y'], subject: 's' })).resolves.toBeUndefined();
    } finally {
      for (const d of drips) clearInterval(d);
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
