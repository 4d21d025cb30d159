import { MailboxError, NotFoundError, RateLimitedError } from '@mailroom/core';
import { describe, expect, it } from 'vitest';
import { afterFastAttempt, type FastAnswer } from './fast-post.js';

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
    for (const a of [undefined, answer(408), answer(500), answer(503, { 'retry-after': '1' })]) {
      expect(afterFastAttempt(a, 30_000)).toEqual({ next: 'usual', waitMs: 0 });
    }
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
});
