import type { InboxPage, InboxQuery, Message } from '@mailroom/core';

/** Every message of an inbox, following the cursor page by page. */
export async function allMail(page: (query: InboxQuery) => Promise<InboxPage>): Promise<Message[]> {
  const out: Message[] = [];
  let cursor: string | undefined;
  do {
    const p = await page({ limit: 100, ...(cursor ? { cursor } : {}) });
    out.push(...p.messages);
    cursor = p.has_more ? (p.cursor ?? undefined) : undefined;
  } while (cursor);
  return out;
}

/** How many messages carry each key that `pattern`'s first group takes from the subject. */
export function countBySubject(messages: readonly Message[], pattern: RegExp): Map<string, number> {
  const seen = new Map<string, number>();
  for (const m of messages) {
    const key = pattern.exec(m.subject)?.[1];
    if (key !== undefined) seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return seen;
}
