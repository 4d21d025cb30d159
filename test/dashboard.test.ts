import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decisionOf, type Message } from '@mailroom/core';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from './support/server.js';

// The dashboard in a real browser (Debian's Chromium, headless) against a real server on port 0
// over a SQLite file. Screenshots go to $DASHBOARD_SCREENSHOTS (or a temp dir) for a person to look at.

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ADMIN_KEY = 'admin-key-for-the-dashboard-test';
const shots = process.env.DASHBOARD_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'dashboard-shots-'));
mkdirSync(shots, { recursive: true });

type Registered = { agent_id: string; api_key: string; email_address: string };
type Sent = { message_id: string; thread_id: string };
/** What the tests read and set in the page (the tests' TypeScript has no DOM types). */
type Probe = typeof globalThis & {
  __xss?: number;
  __sameDocument?: boolean;
  __updates?: number;
  document: { addEventListener(type: string, listener: () => void): void };
};

describe('the dashboard in a real browser', () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  let browser: Browser;
  let alice: Registered;
  let bob: Registered;
  let ops: Registered;
  let task: Sent;
  let escalation: Sent;
  let xss: Sent;
  const send = async (from: Registered, body: object): Promise<Sent> => {
    const res = await s.request('/email/send', { method: 'POST', key: from.api_key, body: JSON.stringify(body) });
    if (res.status !== 200) throw new Error(`send: ${res.status} ${await res.text()}`);
    return (await res.json()) as Sent;
  };

  beforeAll(async () => {
    if (!existsSync(executablePath))
      throw new Error(`no Chromium at ${executablePath}: .ci/run installs it (apt-get install chromium)`);
    s = await startServer({ adminKey: ADMIN_KEY });
    alice = await s.register('alice');
    bob = await s.register('bob');
    ops = await s.register('ops');
    task = await send(alice, {
      to: [bob.email_address],
      subject: 'TASK:t-1 — summarise the report',
      body_text: JSON.stringify({ task_id: 't-1', input: { report: 'Q3', pages: [1, 2, 3] } }),
    });
    await send(bob, {
      to: [alice.email_address],
      subject: 'ACK:t-1',
      in_reply_to: task.message_id,
      body_text: '{"task_id":"t-1"}',
    });
    const lines = Array.from({ length: 60 }, (_, i) => `finding ${i + 1}: revenue grew in region ${i + 1}`);
    await send(bob, {
      to: [alice.email_address],
      subject: 'RESULT:t-1',
      in_reply_to: task.message_id,
      body_text: JSON.stringify({ task_id: 't-1', output: { summary: 'Revenue is up 12%.', findings: lines } }),
    });
    const t2 = await send(alice, {
      to: [bob.email_address],
      subject: 'TASK:t-2 — fetch the invoices',
      body_text: '{"task_id":"t-2"}',
    });
    await send(bob, {
      to: [alice.email_address],
      subject: 'ERROR:t-2',
      in_reply_to: t2.message_id,
      body_text: JSON.stringify({
        task_id: 't-2',
        error: { type: 'BillingError', message: 'the billing API is down' },
      }),
    });
    xss = await send(bob, {
      to: [alice.email_address],
      subject: 'Notes <b>bold</b>',
      body_text: '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">',
      body_html: '<script>window.__xss = 3</script>',
    });
    escalation = await send(bob, {
      to: [ops.email_address],
      subject: '[ESCALATION L0] BillingError',
      body_text: [
        'Type: BillingError',
        'Message: the billing API is down after 3 attempts',
        'Level: L0',
        `From: ${bob.email_address}`,
        'Context:',
        JSON.stringify({ task_id: 't-2', attempts: 3 }, null, 2),
      ].join('\n'),
    });
    browser = await chromium.launch({
      executablePath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-quic',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  const newContext = async (options: Parameters<Browser['newContext']>[0] = {}) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
    context.setDefaultTimeout(10_000);
    return context;
  };
  afterAll(async () => {
    // The server closes first, with the live-update test's page still open: its stream must end.
    await s?.close();
    await browser?.close();
  });

  const signIn = async (key: string): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${s.url}/ui`);
    expect(new URL(page.url()).pathname).toBe('/ui/sign-in');
    await page.fill('#key', key);
    await Promise.all([page.waitForURL(`${s.url}/ui`), page.click('button[type=submit]')]);
    return { context, page };
  };

  it('refuses a wrong key with a clear message, not a stack', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${s.url}/ui/sign-in`);
    await page.fill('#key', 'not-a-key');
    const [response] = await Promise.all([
      page.waitForResponse(`${s.url}/ui/sign-in`),
      page.click('button[type=submit]'),
    ]);
    expect(response.status()).toBe(401);
    await expect(page.locator('[role=alert]').textContent()).resolves.toBe(
      'That key is neither the admin key nor an account’s API key. Check it and try again.',
    );
    expect(await page.content()).not.toMatch(/at .*\.(ts|js):\d+/);
    expect(await context.cookies()).not.toContainEqual(expect.objectContaining({ name: 'mailroom_session' }));
    await page.screenshot({ path: join(shots, 'sign-in-wrong-key.png'), fullPage: true });
    await context.close();
  });

  it('signs in with an account key: its agent and threads, a thread with its bodies pretty-printed', async () => {
    const { context, page } = await signIn(alice.api_key);
    const cookie = (await context.cookies()).find((c) => c.name === 'mailroom_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/ui' });
    // Only alice's own account, with its quota use.
    const agents = page.locator('table.agents tbody tr');
    await expect(agents.count()).resolves.toBe(1);
    await expect(agents.first().getAttribute('data-address')).resolves.toBe(alice.email_address);
    await expect(agents.first().locator('td').nth(2).textContent()).resolves.toContain('2 / 10,000');
    await expect(page.locator('p.alert').textContent()).resolves.toBe('1 failed task');
    await page.screenshot({ path: join(shots, 'overview-account.png'), fullPage: true });

    await page.click('nav >> text=Threads');
    await expect(page.locator('table.threads tbody tr').count()).resolves.toBe(3);
    await page.fill('input[name=q]', 'revenue');
    await Promise.all([page.waitForURL(/\/ui\/threads\?q=revenue/), page.click('form.search button')]);
    const found = page.locator('table.threads tbody tr');
    await expect(found.count()).resolves.toBe(1);
    await page.screenshot({ path: join(shots, 'threads-search.png'), fullPage: true });

    await Promise.all([
      page.waitForURL(/\/ui\/threads\/thr_|\/ui\/threads\/[^?]+$/),
      found.locator('a').first().click(),
    ]);
    expect(new URL(page.url()).pathname).toBe(`/ui/threads/${task.thread_id}`);
    const messages = page.locator('article.message');
    await expect(messages.count()).resolves.toBe(3);
    // The TASK body, pretty-printed (two-space indents), shown open.
    const taskBody = messages.nth(0).locator('pre.body.json');
    await expect(taskBody.isVisible()).resolves.toBe(true);
    await expect(taskBody.textContent()).resolves.toBe(
      JSON.stringify({ task_id: 't-1', input: { report: 'Q3', pages: [1, 2, 3] } }, null, 2),
    );
    // The long RESULT is folded: closed until opened.
    const fold = messages.nth(2).locator('details.fold');
    await expect(fold.getAttribute('open')).resolves.toBeNull();
    await expect(fold.locator('pre').isVisible()).resolves.toBe(false);
    await fold.locator('summary').click();
    await expect(fold.locator('pre').textContent()).resolves.toContain('"summary": "Revenue is up 12%."');
    // The sequence diagram draws each message.
    await expect(page.locator('svg.sequence g.message').count()).resolves.toBe(3);
    await expect(messages.locator('.badge').allTextContents()).resolves.toEqual(['submitted', 'accepted', 'completed']);
    await page.screenshot({ path: join(shots, 'thread-bodies.png'), fullPage: true });

    // Tasks by state, and the failed one under "Needs a person".
    await page.click('nav >> text=Tasks');
    await expect(page.locator('#completed tbody tr').count()).resolves.toBe(1);
    await expect(page.locator('#failed tbody tr').textContent()).resolves.toContain('t-2');
    await page.screenshot({ path: join(shots, 'tasks.png'), fullPage: true });
    await page.click('nav >> text=Needs a person');
    await expect(page.locator('table.dead tbody tr').textContent()).resolves.toContain(
      'BillingError: the billing API is down',
    );
    await context.close();
  });

  it('shows an untrusted body as text: its script never runs', async () => {
    const { context, page } = await signIn(alice.api_key);
    const alerts: string[] = [];
    page.on('dialog', (d) => alerts.push(d.message()));
    await page.goto(`${s.url}/ui/threads/${xss.thread_id}`);
    await expect(page.locator('h1').textContent()).resolves.toBe('Notes <b>bold</b>');
    const body = page.locator('article.message pre.body').first();
    await expect(body.textContent()).resolves.toBe(
      '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">',
    );
    await expect(page.locator('main img').count()).resolves.toBe(0);
    await expect(page.locator('main script').count()).resolves.toBe(0);
    await expect(page.evaluate(() => (globalThis as Probe).__xss)).resolves.toBeUndefined();
    expect(alerts).toEqual([]);
    await page.screenshot({ path: join(shots, 'xss-as-text.png'), fullPage: true });
    await context.close();
  });

  it('sends a strict CSP, nosniff and frame-ancestors on every page', async () => {
    const { context, page } = await signIn(alice.api_key);
    for (const path of [
      '/ui',
      '/ui/sign-in',
      '/ui/threads',
      `/ui/threads/${task.thread_id}`,
      '/ui/assets/dashboard.js',
    ]) {
      const res = await page.request.get(`${s.url}${path}`, { maxRedirects: 0 });
      const csp = res.headers()['content-security-policy'] ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers()['x-content-type-options']).toBe('nosniff');
    }
    await context.close();
  });

  it('refuses a form without the session’s CSRF token, or from another origin (403)', async () => {
    const { context, page } = await signIn(ops.api_key);
    const form = { message_id: escalation.message_id, as: ops.email_address, decision: 'retry' };
    const noToken = await page.request.post(`${s.url}/ui/escalations/answer`, { form, maxRedirects: 0 });
    expect(noToken.status()).toBe(403);
    expect(await noToken.text()).toContain('This form has expired or was not sent from this page.');
    const token = await page.locator('input[name=_csrf]').first().getAttribute('value');
    expect(token).toBeTruthy();
    const wrongToken = await page.request.post(`${s.url}/ui/escalations/answer`, {
      form: { ...form, _csrf: 'x'.repeat(43) },
      maxRedirects: 0,
    });
    expect(wrongToken.status()).toBe(403);
    const foreign = await page.request.post(`${s.url}/ui/escalations/answer`, {
      form: { ...form, _csrf: token as string },
      headers: { origin: 'https://evil.example' },
      maxRedirects: 0,
    });
    expect(foreign.status()).toBe(403);
    const signOut = await page.request.post(`${s.url}/ui/sign-out`, { form: {}, maxRedirects: 0 });
    expect(signOut.status()).toBe(403);
    await expect(page.request.get(`${s.url}/ui/agents`, { maxRedirects: 0 }).then((r) => r.status())).resolves.toBe(
      200,
    );
    // Nothing was answered.
    const thread = (await (await s.request(`/email/thread/${escalation.thread_id}`, { key: bob.api_key })).json()) as {
      messages: Message[];
    };
    expect(thread.messages).toHaveLength(1);
    await context.close();
  });

  it('shows an account only its own mail, and answers only as itself', async () => {
    const { context, page } = await signIn(alice.api_key);
    const res = await page.goto(`${s.url}/ui/threads/${escalation.thread_id}`);
    expect(res?.status()).toBe(404);
    await expect(page.locator('[role=alert]').textContent()).resolves.toBe(
      `There is no thread ${escalation.thread_id} that you can see.`,
    );
    await page.goto(`${s.url}/ui/threads`);
    await expect(page.locator('main').textContent()).resolves.not.toContain('ESCALATION');
    const token = await page.locator('input[name=_csrf]').first().getAttribute('value');
    const asOps = await page.request.post(`${s.url}/ui/escalations/answer`, {
      form: { _csrf: token as string, message_id: escalation.message_id, as: ops.email_address, decision: 'skip' },
      headers: { origin: s.url },
      maxRedirects: 0,
    });
    expect(asOps.status()).toBe(403);
    expect(await asOps.text()).toContain(`You cannot answer as ${ops.email_address}.`);
    await context.close();

    // The recipient sees the escalation in its thread, with the form to answer it there too.
    const recipient = await signIn(ops.api_key);
    await recipient.page.goto(`${s.url}/ui/threads/${escalation.thread_id}`);
    await expect(recipient.page.locator('article.message form.answer').count()).resolves.toBe(1);
    await recipient.page.screenshot({ path: join(shots, 'thread-escalation-waiting.png'), fullPage: true });
    await recipient.context.close();
  });

  it('lets the admin answer an escalation from the page: the decision lands in the thread and wakes the waiting agent', async () => {
    const { context, page } = await signIn(ADMIN_KEY);
    await expect(page.locator('.who').textContent()).resolves.toContain('admin (every account)');
    await expect(page.locator('table.agents tbody tr').count()).resolves.toBe(3);
    await expect(page.locator('p.alert').textContent()).resolves.toContain('1 escalation waiting, 1 failed task');
    await page.screenshot({ path: join(shots, 'overview-admin.png'), fullPage: true });
    await page.click('nav >> text=Needs a person');
    const card = page.locator(`article.escalation[data-message-id="${escalation.message_id}"]`);
    await expect(card.locator('dd').first().textContent()).resolves.toBe('BillingError');
    await page.screenshot({ path: join(shots, 'needs-a-person.png'), fullPage: true });

    // The escalating agent waits for its answer (a held long poll on its inbox).
    const waiting = s
      .request(`/email/inbox?wait=25&unread_only=true&from_address=${encodeURIComponent(ops.email_address)}`, {
        key: bob.api_key,
      })
      .then(async (r) => ((await r.json()) as { messages: Message[] }).messages);
    await card.locator('input[value=retry]').check();
    await card.locator('input[name=note]').fill('the billing API is back <b>up</b>');
    await Promise.all([page.waitForURL(/answered=retry/), card.locator('button[type=submit]').click()]);
    await expect(page.locator('p.notice').textContent()).resolves.toBe(
      'Your decision “retry” was sent in this thread.',
    );
    const last = page.locator('article.message').last();
    await expect(last.locator('pre.body').textContent()).resolves.toBe(
      JSON.stringify({ decision: 'retry', note: 'the billing API is back <b>up</b>' }, null, 2),
    );
    await page.screenshot({ path: join(shots, 'escalation-answered.png'), fullPage: true });

    const [answer] = await waiting;
    expect(answer).toMatchObject({
      from_address: ops.email_address,
      thread_id: escalation.thread_id,
      in_reply_to: escalation.message_id,
      subject: 'Re: [ESCALATION L0] BillingError',
    });
    expect(decisionOf(answer as Message)).toBe('retry');
    // The same form sent again (a double click, a resubmit) sends nothing more.
    const token = await page.locator('input[name=_csrf]').first().getAttribute('value');
    const again = await page.request.post(`${s.url}/ui/escalations/answer`, {
      form: { _csrf: token as string, message_id: escalation.message_id, as: ops.email_address, decision: 'stop' },
      headers: { origin: s.url },
      maxRedirects: 0,
    });
    expect(again.status()).toBe(303);
    const thread = (await (await s.request(`/email/thread/${escalation.thread_id}`, { key: bob.api_key })).json()) as {
      messages: Message[];
    };
    expect(thread.messages.map((m) => decisionOf(m))).toEqual([undefined, 'retry']);
    // Answered: no longer waiting.
    await page.goto(`${s.url}/ui/attention`);
    await expect(page.locator('article.escalation').count()).resolves.toBe(0);
    await context.close();
  });

  it('shows new mail without a reload (live updates)', async () => {
    const { page } = await signIn(alice.api_key);
    await page.goto(`${s.url}/ui/threads`);
    await page.waitForSelector('html[data-events=open]');
    // Marks this document, and counts the live updates it receives from now on.
    await page.evaluate(() => {
      const w = globalThis as Probe;
      w.__sameDocument = true;
      w.__updates = 0;
      w.document.addEventListener('mailroom:updated', () => {
        w.__updates = (w.__updates ?? 0) + 1;
      });
    });
    await send(bob, { to: [alice.email_address], subject: 'Fresh news from bob', body_text: 'hello' });
    await page.waitForFunction(() => ((globalThis as Probe).__updates ?? 0) > 0);
    await expect(page.locator('table.threads').textContent()).resolves.toContain('Fresh news from bob');
    await expect(page.evaluate(() => (globalThis as Probe).__sameDocument)).resolves.toBe(true);
    await expect(page.locator('[data-live] p.muted').textContent()).resolves.toBe('4 threads.');
    await page.screenshot({ path: join(shots, 'live-update.png'), fullPage: true });
    // Left open: the server closes with this page's event stream open (see afterAll).
  });

  // The page is made before its live updates listen: mail that lands in between wakes nobody.
  // Here it lands as the page asks for its stream, before the server has it.
  it('shows mail that landed after the page was made and before its live updates listened', async () => {
    const { context, page } = await signIn(alice.api_key);
    let landed = false;
    await page.route('**/ui/events', async (route) => {
      if (!landed) {
        landed = true;
        await send(bob, { to: [alice.email_address], subject: 'Landed while the page opened', body_text: 'x' });
      }
      await route.continue();
    });
    await page.goto(`${s.url}/ui/threads`);
    await page.waitForSelector('html[data-events=open]');
    expect(landed).toBe(true);
    await expect(page.locator('table.threads').textContent()).resolves.toContain('Landed while the page opened');
    await context.close();
  });

  it('signs out, and a signed-out browser is sent to the sign-in page', async () => {
    const { context, page } = await signIn(bob.api_key);
    await Promise.all([page.waitForURL(`${s.url}/ui/sign-in`), page.click('header button.link')]);
    await page.goto(`${s.url}/ui/agents`);
    expect(new URL(page.url()).pathname).toBe('/ui/sign-in');
    const events = await page.request.get(`${s.url}/ui/events`);
    expect(events.status()).toBe(401);
    await context.close();
  });

  it('writes no key and no session id to the log', () => {
    const log = s.logLines.join('');
    expect(log).toContain('dashboard sign-in');
    for (const secret of [alice.api_key, bob.api_key, ops.api_key, ADMIN_KEY]) expect(log).not.toContain(secret);
    expect(log).not.toContain('mailroom_session=');
  });
});
