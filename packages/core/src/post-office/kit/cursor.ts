import { createHash } from 'node:crypto';
import { ValidationError } from '../../errors.js';

/** The cursor mode of an inbox query: which list a cursor walks (cursors keep their filters). */
export function inboxCursorMode(unreadOnly: boolean, fromAddress: string | undefined): string {
  const mode = unreadOnly ? 'u' : 'a';
  return fromAddress === undefined
    ? mode
    : `${mode}:${createHash('sha256').update(fromAddress).digest('base64url').slice(0, 12)}`;
}

/** An opaque cursor (≤ 128 chars) for position `pos` of a list in `mode`. */
export function encodeCursor(mode: string, pos: number): string {
  return Buffer.from(`${mode}|${pos}`).toString('base64url');
}

/** The position in a cursor, or a `ValidationError` when it is forged or made with other filters. */
export function decodeCursor(cursor: string, mode: string): number {
  const [m, pos] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const n = Number(pos);
  if (m !== mode || !Number.isSafeInteger(n) || n < 0) {
    throw ValidationError.single(['cursor'], 'unknown cursor, or one made with other filters');
  }
  return n;
}
