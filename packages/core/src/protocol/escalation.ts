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

/** Parses an escalation body. Never throws: a malformed body comes back as a `ProtocolError`. */
export function parseEscalationBody(text: string | null | undefined): Escalation | ProtocolError {
  if (typeof text !== 'string') return new ProtocolError('escalation body is empty');
  const fields: Record<string, string> = {};
  const lines = text.split('\n');
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === 'Context:') break;
    const m = FIELD.exec(line);
    if (m) fields[(m[1] as string).toLowerCase()] = m[2] as string;
  }
  let context: unknown = {};
  const json = lines
    .slice(i + 1)
    .join('\n')
    .trim();
  if (json !== '') {
    try {
      context = JSON.parse(json);
    } catch (cause) {
      return new ProtocolError('escalation context is not JSON', { cause });
    }
  }
  const level = /^L(\d+)$/.exec(fields.level ?? '');
  const parsed = Escalation.safeParse({
    type: fields.type,
    message: fields.message ?? '',
    level: level ? Number(level[1]) : undefined,
    from: fields.from ?? '',
    context,
  });
  if (!parsed.success) return new ProtocolError(`malformed escalation body: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}
