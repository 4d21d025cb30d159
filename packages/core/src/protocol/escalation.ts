import { z } from 'zod';
import { ProtocolError } from '../errors.js';

/** What an escalation mail says: readable by a person, parseable by an agent. */
export const Escalation = z.object({
  type: z.string().min(1),
  message: z.string(),
  level: z.number().int().min(0),
  /** Where it came from: the supervisor or agent address, or `L{n-1}` when passed on. */
  from: z.string(),
  context: z.record(z.string(), z.unknown()).default({}),
});
export type Escalation = z.infer<typeof Escalation>;
export type EscalationInput = z.input<typeof Escalation>;

const FIELD = /^(Type|Message|Level|From):[ \t]?(.*)$/;

/** Formats an escalation body: `Type:`, `Message:`, `Level:`, `From:` lines, then `Context:` and JSON. */
export function formatEscalationBody(input: EscalationInput): string {
  const e = Escalation.parse(input);
  return [
    `Type: ${oneLine(e.type)}`,
    `Message: ${oneLine(e.message)}`,
    `Level: L${e.level}`,
    `From: ${oneLine(e.from)}`,
    'Context:',
    JSON.stringify(e.context, null, 2),
    '',
  ].join('\n');
}

/**
 * Parses an escalation body. Never throws: a malformed body comes back as a `ProtocolError`.
 * Lenient on purpose for the seed's `escalate_error` mail: text before the fields is skipped, the
 * JSON may start on the `Context:` line and be followed by text, and `Level`/`From` missing are
 * taken from `fallback` (the subject's level, the sender).
 */
export function parseEscalationBody(
  text: string | null | undefined,
  fallback: { level?: number; from?: string } = {},
): Escalation | ProtocolError {
  if (typeof text !== 'string') return new ProtocolError('escalation body is empty');
  const fields: Record<string, string> = {};
  const lines = text.split('\n');
  let i = 0;
  let first = '';
  for (; i < lines.length; i++) {
    const line = lines[i] as string;
    const ctx = /^\s*Context:\s*(.*)$/.exec(line);
    if (ctx) {
      first = ctx[1] as string;
      break;
    }
    const m = FIELD.exec(line);
    if (m) fields[(m[1] as string).toLowerCase()] = m[2] as string;
  }
  const context = parseContext([first, ...lines.slice(i + 1)]);
  if (context instanceof ProtocolError) return context;
  const level = /^L?(\d+)$/.exec((fields.level ?? '').trim());
  const parsed = Escalation.safeParse({
    type: fields.type,
    message: fields.message ?? '',
    level: level ? Number(level[1]) : fallback.level,
    from: fields.from ?? fallback.from ?? '',
    context,
  });
  if (!parsed.success) return new ProtocolError(`malformed escalation body: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** The JSON after `Context:`: the longest run of lines that parses (text may follow it). */
function parseContext(lines: string[]): unknown {
  let end = lines.length;
  while (end > 0 && (lines[end - 1] as string).trim() === '') end--;
  if (end === 0 || lines.slice(0, end).join('').trim() === '') return {};
  let cause: unknown;
  let tries = 0;
  for (let n = end; n > 0 && tries < 64; n--) {
    const json = lines.slice(0, n).join('\n').trim();
    if (!/[}\]]$/.test(json)) continue;
    tries++;
    try {
      return JSON.parse(json) as unknown;
    } catch (err) {
      cause ??= err;
    }
  }
  return new ProtocolError('escalation context is not JSON', { cause });
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}
