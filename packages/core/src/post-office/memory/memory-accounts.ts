import { ConflictError, NotFoundError } from '../../errors.js';
import { RegisterRequest, type Registration } from '../../wire/model.js';
import { parseOrThrow } from '../../wire/parse.js';
import { hashKey, newApiKey } from '../kit/keys.js';
import { emptyUsage, type QuotaLimits } from '../kit/quota.js';
import { HideableList } from './hideable-list.js';
import { sentShown, shown, unreadShown } from './memory-copies.js';
import type { Box } from './memory-store.js';

/**
 * The accounts of the embedded post office: registration, API keys, quotas, and finding an
 * account by address (as the caller, or as a recipient on this domain).
 */
export class MemoryAccounts {
  private readonly boxes = new Map<string, Box>();
  private readonly keys = new Map<string, string>();

  constructor(
    readonly domain: string,
    private readonly defaultLimits: QuotaLimits,
    private readonly isoNow: () => string,
  ) {}

  register(request: RegisterRequest): Registration {
    const { agent_id } = parseOrThrow(RegisterRequest, request, 'registration');
    const address = `${agent_id}@${this.domain}`;
    if (this.boxes.has(address)) throw new ConflictError(`agent id ${agent_id} is taken`);
    const apiKey = newApiKey();
    const createdAt = this.isoNow();
    this.boxes.set(address, {
      address,
      agentId: agent_id,
      self: [address],
      createdAt,
      limits: { ...this.defaultLimits },
      usage: emptyUsage(),
      totalSent: 0,
      totalReceived: 0,
      unread: 0,
      inbox: new HideableList(shown, unreadShown),
      bySender: new Map(),
      sent: new HideableList(sentShown),
      idempotency: new Map(),
    });
    this.keys.set(hashKey(apiKey), address);
    return { agent_id, api_key: apiKey, status: 'active', created_at: createdAt, email_address: address };
  }

  authenticate(apiKey: string): string | undefined {
    return this.keys.get(hashKey(apiKey));
  }

  setLimits(address: string, limits: Partial<QuotaLimits>): void {
    const box = this.box(address);
    box.limits = { ...box.limits, ...limits };
  }

  /** The caller's account. Throws `NotFoundError`. */
  box(address: string): Box {
    const box = typeof address === 'string' ? this.boxes.get(address) : undefined;
    if (!box) throw new NotFoundError(`no account ${String(address)}`);
    return box;
  }

  /**
   * A recipient's account, or `NotFoundError`. The address is on this domain: `planSend` refused
   * any other before the send got here.
   */
  recipient(address: string): Box {
    const registered = this.boxes.get(address);
    if (registered) return registered;
    throw new NotFoundError(`recipient ${address} is not registered`);
  }
}
