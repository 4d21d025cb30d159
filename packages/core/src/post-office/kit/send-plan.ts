import { ValidationError } from '../../errors.js';
import { SendRequest } from '../../wire/model.js';
import { parseOrThrow } from '../../wire/parse.js';
import { checkSendFast } from './fast-checks.js';

const EMPTY: string[] = [];

/** The last recipient found on its domain: an agent mostly writes to the same few (no string search each send). */
const lastChecked = { address: '', domain: '' };

/** A validated send: recipients deduplicated (to, then cc, then bcc), every one on this domain. */
export type SendPlan = {
  request: ReturnType<typeof SendRequest.parse>;
  to: string[];
  cc: string[];
  bcc: string[];
  /** Every recipient once. */
  recipients: string[];
};

/** Validates a send request for a post office of `domain`. Throws `ValidationError`. */
export function planSend(request: unknown, domain: string): SendPlan {
  const req = checkSendFast(request) ?? parseOrThrow(SendRequest, request, 'send request');
  const to = req.to.length === 1 ? req.to : [...new Set(req.to)];
  const cc = req.cc?.length ? [...new Set(req.cc)].filter((a) => !to.includes(a)) : EMPTY;
  const bcc = req.bcc?.length ? [...new Set(req.bcc)].filter((a) => !to.includes(a) && !cc.includes(a)) : EMPTY;
  const recipients = cc.length === 0 && bcc.length === 0 ? to : [...to, ...cc, ...bcc];
  for (const address of recipients) {
    if (address === lastChecked.address && domain === lastChecked.domain) continue;
    const suffix = `@${domain}`;
    if (!address.endsWith(suffix) && !address.toLowerCase().endsWith(suffix)) {
      throw ValidationError.single(['to'], `${address} is outside ${domain}: external delivery is not supported here`);
    }
    lastChecked.address = address;
    lastChecked.domain = domain;
  }
  return { request: req, to, cc, bcc, recipients };
}
