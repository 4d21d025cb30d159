import { MemoryPostOffice } from '../post-office/memory/memory-post-office.js';
import { mailboxConformance } from '../testing/index.js';
import { LocalMailbox } from './local-mailbox.js';

mailboxConformance('LocalMailbox on MemoryPostOffice', async ({ clock }) => {
  const po = new MemoryPostOffice({ clock });
  return {
    async agent(agentId, options = {}) {
      const reg = await po.register({ agent_id: agentId });
      if (options.hourly !== undefined) po.setLimits(reg.email_address, { hourly: options.hourly });
      return new LocalMailbox(po, reg.email_address);
    },
    async close() {},
  };
});
