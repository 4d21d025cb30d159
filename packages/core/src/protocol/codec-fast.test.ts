import { describe, expect, it } from 'vitest';
import { loosePrefix, mayBeJson } from './codec.js';

// The decoder skips its two regular expressions on the first character alone where they cannot
// match (plain mail, every message): the answer must be the expression's for every first character.
const LOOSE_PREFIX = /^(?:\s*re\s*:\s*)*(TASK|ACK|STATUS|RESULT|ERROR|CANCEL)\s*:/i;
const JSON_START = /^\s*(?:[[{"\d-]|true\b|false\b|null\b)/;

const tails = [
  '',
  'ASK:x',
  'e: RESULT:t1',
  'CK:',
  'TATUS :',
  'ANCEL:',
  'RROR:',
  'rue',
  'alse',
  'ull',
  ' {}',
  '1',
  'ing',
];
const heads = ['', 'T', 't', 'A', 'a', 'S', 's', 'R', 'r', 'E', 'e', 'C', 'c', ' ', '\u00a0', '\ufeff', '{', 'x', 'p'];

/** Every subject (or body) of `heads` × `tails` and of each UTF-16 code unit × `tails` where `fast` and `slow` differ. */
function disagreements<T>(fast: (s: string) => T, slow: (s: string) => T): string[] {
  const out: string[] = [];
  const check = (s: string) => {
    if (fast(s) !== slow(s)) out.push(s);
  };
  for (let code = 0; code <= 0xffff; code++) for (const tail of tails) check(String.fromCharCode(code) + tail);
  for (const head of heads) for (const tail of tails) check(head + tail);
  return out;
}

describe('the decoder’s first-character shortcuts', () => {
  it('find a protocol prefix exactly where the expression does, whatever the first character', () => {
    const fast = (s: string) => `${loosePrefix(s)?.[0]}/${loosePrefix(s)?.[1]}`;
    const slow = (s: string) => `${LOOSE_PREFIX.exec(s)?.[0]}/${LOOSE_PREFIX.exec(s)?.[1]}`;
    expect(disagreements(fast, slow)).toEqual([]);
    expect(loosePrefix('Re: result: done')?.[1]).toBe('result');
    expect(loosePrefix('ping')).toBeNull();
    expect(loosePrefix(undefined)).toBeNull();
  });

  it('take a body for possible JSON exactly where the expression does, whatever the first character', () => {
    expect(disagreements(mayBeJson, (s) => JSON_START.test(s))).toEqual([]);
    expect(mayBeJson('')).toBe(false);
    expect(mayBeJson('\u00a0{"a":1}')).toBe(true);
  });
});
