/** One Server-Sent Event: its `id` (when it had one), `event` name and `data`. */
export type ServerSentEvent = { id: string | undefined; event: string; data: string };

/**
 * Splits a Server-Sent Events byte stream (a web `ReadableStream` or a Node stream) into events (the WHATWG event-stream format: fields
 * `id`, `event`, `data`; comments and `retry` skipped; an event is dispatched only at its blank
 * line, so one cut off by a dropped connection is never seen).
 */
export async function* readEvents(
  body: AsyncIterable<Uint8Array>,
  onBytes: () => void,
): AsyncGenerator<ServerSentEvent> {
  // Bytes decoded here (not through a TextDecoderStream: one stream stage less per chunk).
  const reader = body[Symbol.asyncIterator]();
  const decoder = new TextDecoder();
  let buffer = '';
  let id: string | undefined;
  let event = '';
  let data: string[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.next();
      if (done) return;
      onBytes();
      buffer += decoder.decode(value, { stream: true });
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        const line = buffer.endsWith('\r', nl) ? buffer.slice(0, nl - 1) : buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf('\n');
        if (line === '') {
          if (data.length > 0) yield { id, event: event || 'message', data: data.join('\n') };
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const raw = colon < 0 ? '' : line.slice(colon + 1);
        const value = raw.startsWith(' ') ? raw.slice(1) : raw;
        if (field === 'data') data.push(value);
        else if (field === 'event') event = value;
        else if (field === 'id' && !value.includes('\0')) id = value;
      }
    }
  } finally {
    // Stopped early (unsubscribed, or a bad event): the connection is let go. return() rejects only
    // when the stream had already failed, and that failure is what the caller has already seen.
    await reader.return?.()?.catch(() => undefined); // not swallowed: see above
  }
}
