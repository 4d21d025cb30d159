import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readEvents } from './sse.js';

/** A byte stream that yields `chunks` one by one. */
function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  });
}

describe('readEvents (Server-Sent Events)', () => {
  it('reads events whose bytes arrive cut anywhere, a character split between two chunks included', async () => {
    const bytes = new TextEncoder().encode('id: 7\nevent: inbox\ndata: {"subject":"héllo ✓"}\n\n: keep-alive\n\n');
    // Cut inside the two-byte é, inside the three-byte ✓, and between the two newlines of the event's end.
    const e = bytes.indexOf(0xc3) + 1;
    const check = bytes.indexOf(0xe2) + 2;
    const end = bytes.indexOf(0x0a, check) + 1;
    const chunks = [bytes.subarray(0, e), bytes.subarray(e, check), bytes.subarray(check, end), bytes.subarray(end)];
    let seen = 0;
    const events = [];
    for await (const event of readEvents(streamOf(chunks), () => (seen += 1))) events.push(event);
    expect(events).toEqual([{ id: '7', event: 'inbox', data: '{"subject":"héllo ✓"}' }]);
    expect(seen).toBe(4);
  });

  it('reads Server-Sent Events from a Node stream of Buffers cut anywhere, as from a web stream', async () => {
    const text = 'id: 1\nevent: inbox\ndata: {"a":"é"}\n\nid: 2\nevent: inbox\ndata: {"b":2}\n\n';
    const bytes = Buffer.from(text);
    const cut = bytes.indexOf(0xc3) + 1;
    const events = [];
    for await (const e of readEvents(Readable.from([bytes.subarray(0, cut), bytes.subarray(cut)]), () => undefined)) {
      events.push(e);
    }
    expect(events).toEqual([
      { id: '1', event: 'inbox', data: '{"a":"é"}' },
      { id: '2', event: 'inbox', data: '{"b":2}' },
    ]);
  });
});
