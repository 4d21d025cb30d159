import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../errors.js';
import { InboxQuery, SendRequest } from '../../wire/model.js';
import { checkInboxFast, checkSendFast } from './fast-checks.js';
import { planSend } from './send-plan.js';

const valid = fc.constantFrom('bob@agents.localhost', 'carol@agents.localhost', 'Bob@agents.localhost', 'x@y');
const invalid = fc.constantFrom('', 'no-at-sign', 'a b@c', `${'a'.repeat(320)}@x`, 'é@agents.localhost');
/** Mostly valid values, some invalid ones: both paths are taken. */
const mostly = <T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<unknown>) =>
  fc.oneof({ arbitrary: good, weight: 6 }, { arbitrary: bad as fc.Arbitrary<T>, weight: 1 });
const address = mostly(valid, fc.oneof(invalid, fc.string(), fc.integer()));
const addresses = (min: number, max: number) =>
  mostly(fc.array(address, { minLength: min, maxLength: max }), fc.oneof(fc.array(address, { maxLength: 12 }), valid));
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });
const sendRequest = fc.record(
  {
    to: addresses(1, 10),
    cc: maybe(addresses(0, 10)),
    bcc: maybe(addresses(0, 10)),
    subject: mostly(fc.string({ minLength: 1, maxLength: 256 }), fc.oneof(fc.string({ maxLength: 300 }), fc.integer())),
    body_text: maybe(mostly(fc.oneof(fc.string(), fc.constant(null)), fc.constantFrom('é'.repeat(140_000), 7))),
    body_html: maybe(mostly(fc.oneof(fc.string(), fc.constant(null)), fc.constant('x'.repeat(262_145)))),
    in_reply_to: maybe(
      mostly(fc.oneof(fc.string({ minLength: 1, maxLength: 128 }), fc.constant(null)), fc.string({ maxLength: 140 })),
    ),
    attachments: maybe(mostly(fc.constant([]), fc.array(fc.string(), { minLength: 1, maxLength: 1 }))),
    idempotency_key: maybe(mostly(fc.string({ minLength: 1, maxLength: 128 }), fc.string({ maxLength: 140 }))),
    from_address: fc.option(fc.string(), { nil: undefined, freq: 1 }),
  },
  { requiredKeys: ['to', 'subject'] },
);

describe('the fast checks of the memory office', () => {
  it('take a send request exactly as the schema does, or leave it to the schema', () => {
    // The fast path is taken for plain requests (asserted here, not left to how many the random run makes).
    for (const plain of [
      { to: ['bob@agents.localhost'], subject: 'hi' },
      {
        to: ['bob@agents.localhost', 'x@y'],
        cc: [],
        subject: 's',
        body_text: 'b',
        idempotency_key: 'k',
        in_reply_to: null,
      },
    ]) {
      expect(checkSendFast(plain)).toEqual(SendRequest.parse(plain));
    }
    fc.assert(
      fc.property(sendRequest, (request) => {
        const fast = checkSendFast(request);
        const schema = SendRequest.safeParse(request);
        if (fast !== undefined) {
          expect(schema.success).toBe(true);
          expect(fast).toEqual(schema.data);
        }
        // Unknown fields and anything invalid go through the schema (its errors).
        if (!schema.success || 'from_address' in request) expect(fast).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });

  it('take an inbox query exactly as the schema does, or leave it to the schema', () => {
    const query = fc.record(
      {
        limit: mostly(fc.integer({ min: 1, max: 100 }), fc.oneof(fc.integer(), fc.constant('20'), fc.double())),
        unread_only: mostly(fc.boolean(), fc.constantFrom('true', '0', 1)),
        cursor: mostly(fc.string({ minLength: 1, maxLength: 128 }), fc.string({ maxLength: 130 })),
        wait: mostly(fc.double({ min: 0, max: 30, noNaN: true }), fc.oneof(fc.double(), fc.constant('5'))),
        from_address: fc.option(address, { nil: undefined, freq: 1 }),
      },
      { requiredKeys: [] },
    );
    for (const plain of [{}, { limit: 5, unread_only: true, cursor: 'c', wait: 0 }]) {
      expect(checkInboxFast(plain)).toEqual(InboxQuery.parse(plain));
    }
    fc.assert(
      fc.property(query, (q) => {
        const fast = checkInboxFast(q);
        const schema = InboxQuery.safeParse(q);
        if (fast !== undefined) expect(fast).toEqual(schema.data);
        if (!schema.success) expect(fast).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });

  it('leave the caller its arrays: a send keeps no reference to the request', () => {
    const to = ['bob@agents.localhost'];
    const plan = planSend({ to, subject: 'hi' }, 'agents.localhost');
    to.push('mallory@agents.localhost');
    expect(plan.to).toEqual(['bob@agents.localhost']);
    expect(() => planSend({ to: ['bob@elsewhere.example'], subject: 'hi' }, 'agents.localhost')).toThrow(
      ValidationError,
    );
  });
});
