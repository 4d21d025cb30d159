import type { PostOffice } from '@mailroom/core';

/**
 * Makes the office's next inbox read run `land` once it has read, before it answers: mail that
 * lands while a read is under way (as a send through another PostgreSQL replica can). Returns the
 * function that puts the office's own `inbox` back.
 */
export function landDuringNextRead(office: Pick<PostOffice, 'inbox'>, land: () => Promise<unknown>): () => void {
  const read = office.inbox.bind(office);
  let pending: (() => Promise<unknown>) | undefined = land;
  office.inbox = async (address, query) => {
    const page = await read(address, query);
    const now = pending;
    pending = undefined;
    await now?.();
    return page;
  };
  return () => {
    office.inbox = read;
  };
}
