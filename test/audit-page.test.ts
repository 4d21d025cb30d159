import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from './support/server.js';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('the audit page in a real browser', () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    if (!existsSync(executablePath))
      throw new Error(`no Chromium at ${executablePath}: .ci/run installs it (apt-get install chromium)`);
    s = await startServer();
  });
  afterAll(() => s?.close());

  it('draws every message of the thread in the sequence diagram', async () => {
    const alice = await s.register('page-alice');
    const bob = await s.register('page-bob');
    const post = async (key: string, body: object) =>
      (await (await s.request('/email/send', { method: 'POST', key, body: JSON.stringify(body) })).json()) as {
        message_id: string;
        thread_id: string;
      };
    const task = await post(alice.api_key, {
      to: [bob.email_address],
      subject: 'TASK:t-7 — summarise <the> report',
      body_text: '{}',
    });
    await post(bob.api_key, { to: [alice.email_address], subject: 'ACK:t-7', in_reply_to: task.message_id });
    await post(bob.api_key, { to: [alice.email_address], subject: 'STATUS:t-7', in_reply_to: task.message_id });
    await post(bob.api_key, { to: [alice.email_address], subject: 'RESULT:t-7', in_reply_to: task.message_id });

    const browser = await chromium.launch({
      executablePath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await browser.newPage({ extraHTTPHeaders: { 'x-api-key': alice.api_key } });
      const response = await page.goto(`${s.url}/ui/thread/${task.thread_id}`);
      expect(response?.status()).toBe(200);
      const arrows = page.locator('svg.sequence g.message');
      await expect(arrows.count()).resolves.toBe(4);
      const labels = await arrows.locator('text').allTextContents();
      expect(labels).toEqual(['TASK:t-7 — summarise <the> report', 'ACK:t-7', 'STATUS:t-7', 'RESULT:t-7']);
      for (let i = 0; i < 4; i++) {
        const box = await arrows.nth(i).boundingBox();
        expect(box?.width).toBeGreaterThan(50); // drawn, not just present
      }
      await expect(page.title()).resolves.toContain('TASK:t-7');
    } finally {
      await browser.close();
    }
  });
});
