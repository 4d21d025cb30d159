import { type Message, renderSvg, type Thread, timeline } from '@mailroom/core';
import type { AgentRow, DeadLetterRow, EscalationRow, TaskRow, ThreadRow } from './data.js';
import { STATES } from './data.js';
import { type Html, html, raw } from './html.js';
import type { Session } from './session.js';

// The dashboard's pages: plain server-rendered HTML, every value escaped by `html`. No inline
// script or style (the CSP forbids both): /ui/assets/dashboard.css and dashboard.js.

/** Bodies longer than this (characters or lines) are folded in a <details>. */
export const FOLD_CHARS = 1200;
export const FOLD_LINES = 24;

const DECISIONS = ['retry', 'skip', 'restart', 'stop'] as const;

const name = (address: string) => address.split('@')[0] ?? address;
const count = (n: number) => n.toLocaleString('en-US');
const when = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');

type Nav = 'home' | 'agents' | 'threads' | 'tasks' | 'attention' | undefined;

/** The frame of every page. `session` absent: the sign-in page. */
export function layout(options: { title: string; session?: Session; nav?: Nav; body: Html; notice?: string }): Html {
  const s = options.session;
  const link = (href: string, label: string, key: Nav) =>
    html`<a href="${href}"${options.nav === key ? raw(' aria-current="page"') : ''}>${label}</a>`;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} — Mailroom</title>
<link rel="stylesheet" href="/ui/assets/dashboard.css">
${s ? raw('<script src="/ui/assets/dashboard.js" defer></script>') : ''}
</head><body>
<header class="top"><a class="brand" href="/ui">✉ Mailroom</a>
${
  s
    ? html`<nav>${link('/ui', 'Overview', 'home')}${link('/ui/agents', 'Agents', 'agents')}${link('/ui/threads', 'Threads', 'threads')}${link('/ui/tasks', 'Tasks', 'tasks')}${link('/ui/attention', 'Needs a person', 'attention')}</nav>
<div class="who"><span id="live" class="live" title="Live updates">●</span>
<span>${s.principal.kind === 'admin' ? 'admin (every account)' : s.principal.address}</span>
<form method="post" action="/ui/sign-out" class="inline">${csrf(s)}<button type="submit" class="link">Sign out</button></form></div>`
    : ''
}
</header>
<main>
${options.notice ? html`<p class="notice" role="status">${options.notice}</p>` : ''}
${options.body}
</main></body></html>`;
}

const csrf = (s: Session) => html`<input type="hidden" name="_csrf" value="${s.csrf}">`;

export function signInPage(options: { token: string; error?: string; adminAvailable: boolean }): Html {
  return layout({
    title: 'Sign in',
    body: html`<section class="card narrow">
<h1>Sign in</h1>
<p>Paste an agent's API key to see its mail${options.adminAvailable ? raw(', or the server&#39;s admin key to see every account') : ''}.
The key is checked once and never stored in the browser: you get a session cookie instead.</p>
${options.error ? html`<p class="error" role="alert">${options.error}</p>` : ''}
<form method="post" action="/ui/sign-in">
<input type="hidden" name="_csrf" value="${options.token}">
<label for="key">API key</label>
<input id="key" name="key" type="password" autocomplete="off" required autofocus>
<button type="submit">Sign in</button>
</form></section>`,
  });
}

export function errorPage(status: number, message: string, session?: Session): Html {
  return layout({
    title: `Error ${status}`,
    ...(session ? { session } : {}),
    body: html`<section class="card narrow"><h1>${status === 404 ? 'Not found' : 'Something went wrong'}</h1>
<p class="error" role="alert">${message}</p><p><a href="/ui">Back to the overview</a></p></section>`,
  });
}

function partialNote(partial: boolean): Html {
  return partial
    ? html`<p class="notice">A mailbox holds more mail than the dashboard reads at once: these views show its oldest messages only.</p>`
    : html``;
}

export function agentsTable(rows: readonly AgentRow[]): Html {
  if (rows.length === 0) return html`<p class="empty">No accounts yet.</p>`;
  const quota = (w: { used: number; limit: number }) =>
    html`<meter min="0" max="${Math.max(1, w.limit)}" value="${w.used}" high="${Math.ceil(w.limit * 0.8)}" optimum="0"></meter> <span class="num">${count(w.used)} / ${count(w.limit)}</span>`;
  return html`<table class="agents"><thead><tr><th>Agent</th><th>Status</th><th>Hourly quota</th><th>Daily quota</th><th>Sent</th><th>Received</th><th>Unread</th></tr></thead><tbody>
${rows.map(
  (
    r,
  ) => html`<tr data-address="${r.address}"><td><strong>${name(r.address)}</strong><br><span class="muted">${r.address}</span></td>
<td><span class="badge ${r.account.sending_frozen ? 'failed' : 'completed'}">${r.account.sending_frozen ? 'frozen' : r.account.status}</span></td>
<td>${quota(r.account.rate_limits.hourly)}</td><td>${quota(r.account.rate_limits.daily)}</td>
<td class="num">${count(r.account.total_sent)}</td><td class="num">${count(r.account.total_received)}</td><td class="num">${count(r.unread)}</td></tr>`,
)}
</tbody></table>`;
}

export function threadsTable(rows: readonly ThreadRow[]): Html {
  if (rows.length === 0) return html`<p class="empty">No threads.</p>`;
  return html`<table class="threads"><thead><tr><th>Subject</th><th>Participants</th><th>Messages</th><th>Last activity</th></tr></thead><tbody>
${rows.map(
  (r) => html`<tr><td><a href="/ui/threads/${encodeURIComponent(r.threadId)}">${r.subject}</a>${
    r.lastSubject !== r.subject ? html`<br><span class="muted">latest: ${r.lastSubject}</span>` : ''
  }</td>
<td>${r.participants.map(name).join(', ')}</td><td class="num">${r.count}</td><td>${when(r.lastAt)}</td></tr>`,
)}
</tbody></table>`;
}

export function threadsPage(session: Session, rows: readonly ThreadRow[], query: string, partial: boolean): Html {
  return layout({
    title: 'Threads',
    session,
    nav: 'threads',
    body: html`<h1>Threads</h1>${partialNote(partial)}
<form method="get" action="/ui/threads" class="search" role="search">
<input type="search" name="q" value="${query}" placeholder="Search subjects, bodies and addresses" aria-label="Search threads">
<button type="submit">Search</button>${query ? html` <a href="/ui/threads">Clear</a>` : ''}
</form>
<div data-live><p class="muted">${rows.length} thread${rows.length === 1 ? '' : 's'}${query ? html` matching “${query}”` : ''}.</p>
${threadsTable(rows)}</div>`,
  });
}

const badge = (state: string | undefined) => (state ? html`<span class="badge ${state}">${state}</span>` : '');

export function tasksSection(rows: readonly TaskRow[], compact = false): Html {
  if (rows.length === 0) return html`<p class="empty">No task mail yet.</p>`;
  const groups = STATES.map((state) => ({ state, rows: rows.filter((r) => r.state === state) })).filter(
    (g) => g.rows.length > 0,
  );
  if (compact) {
    return html`<ul class="counts">${groups.map(
      (g) =>
        html`<li><a href="/ui/tasks#${g.state}">${badge(g.state)} <span class="num">${g.rows.length}</span></a></li>`,
    )}</ul>`;
  }
  return html`${groups.map(
    (g) => html`<section class="state" id="${g.state}"><h2>${badge(g.state)} ${g.rows.length}</h2>
<table class="tasks"><thead><tr><th>Task</th><th>Requester → worker</th><th>Latest mail</th><th>Updated</th></tr></thead><tbody>
${g.rows.map(
  (
    r,
  ) => html`<tr><td><a href="/ui/threads/${encodeURIComponent(r.threadId)}"><code>${r.taskId}</code></a>${r.name ? html` ${r.name}` : ''}</td>
<td>${r.requester ? name(r.requester) : '?'} → ${r.worker ? name(r.worker) : '?'}</td><td>${r.lastSubject}</td><td>${when(r.updatedAt)}</td></tr>`,
)}</tbody></table></section>`,
  )}`;
}

export function tasksPage(session: Session, rows: readonly TaskRow[], partial: boolean): Html {
  return layout({
    title: 'Tasks',
    session,
    nav: 'tasks',
    body: html`<h1>Tasks by state</h1>${partialNote(partial)}
<p class="muted">From the subject-line protocol: TASK submitted, ACK accepted, STATUS working (or its body's state), RESULT completed, ERROR failed, CANCEL canceled.</p>
<div data-live>${tasksSection(rows)}</div>`,
  });
}

/** The answer form of a waiting escalation: replies in its thread as the account that received it. */
function answerForm(session: Session, e: EscalationRow): Html {
  return html`<form method="post" action="/ui/escalations/answer" class="answer">
${csrf(session)}<input type="hidden" name="message_id" value="${e.message.message_id}"><input type="hidden" name="as" value="${e.recipient}">
<fieldset><legend>Answer as ${name(e.recipient)}</legend>
${DECISIONS.map(
  (d, i) =>
    html`<label class="choice"><input type="radio" name="decision" value="${d}"${i === 0 ? raw(' required') : ''}> ${d}</label>`,
)}
<label class="note">Note (optional) <input type="text" name="note" maxlength="2000"></label>
<button type="submit">Send decision</button></fieldset></form>`;
}

export function escalationsSection(session: Session, rows: readonly EscalationRow[]): Html {
  if (rows.length === 0) return html`<p class="empty">No escalation is waiting for a person.</p>`;
  return html`${rows.map(
    (e) => html`<article class="card escalation" data-message-id="${e.message.message_id}">
<h3><a href="/ui/threads/${encodeURIComponent(e.message.thread_id)}">${e.message.subject}</a></h3>
<p class="muted">L${e.level} · from ${e.message.from_address} to ${e.recipient} · ${when(e.message.created_at)}</p>
${
  e.escalation
    ? html`<dl><dt>Error</dt><dd>${e.escalation.type}</dd><dt>Message</dt><dd>${e.escalation.message}</dd><dt>Raised by</dt><dd>${e.escalation.from}</dd></dl>
${Object.keys(e.escalation.context).length > 0 ? bodyBlock(JSON.stringify(e.escalation.context), 'Context') : ''}`
    : bodyBlock(e.message.body_text ?? '', 'Body')
}
${answerForm(session, e)}</article>`,
  )}`;
}

export function deadLettersSection(rows: readonly DeadLetterRow[]): Html {
  if (rows.length === 0) return html`<p class="empty">No failed tasks or dead letters.</p>`;
  return html`<table class="dead"><thead><tr><th>Task</th><th>Failed at → told</th><th>Error</th><th>When</th></tr></thead><tbody>
${rows.map(
  (
    d,
  ) => html`<tr><td><a href="/ui/threads/${encodeURIComponent(d.message.thread_id)}"><code>${d.taskId ?? d.message.subject}</code></a></td>
<td>${name(d.message.from_address)} → ${d.message.to_addresses.map(name).join(', ')}</td>
<td>${d.type ? html`<strong>${d.type}</strong>: ` : ''}${d.text}</td><td>${when(d.message.created_at)}</td></tr>`,
)}</tbody></table>`;
}

export function attentionPage(
  session: Session,
  escalations: readonly EscalationRow[],
  dead: readonly DeadLetterRow[],
  partial: boolean,
): Html {
  return layout({
    title: 'Needs a person',
    session,
    nav: 'attention',
    body: html`<h1>Needs a person</h1>${partialNote(partial)}
<section data-live><h2>Escalations waiting (${escalations.length})</h2>
<p class="muted">An <code>[ESCALATION Ln]</code> mail whose recipient has not answered. A decision goes back in the thread, from that recipient: <code>{"decision": "retry"}</code>.</p>
${escalationsSection(session, escalations)}</section>
<section data-live><h2>Failed tasks and dead letters (${dead.length})</h2>
<p class="muted">An agent that gives up on a message (its handler failed every attempt) answers it with <code>ERROR:</code>; so does a task that failed.</p>
${deadLettersSection(dead)}</section>`,
  });
}

export function overviewPage(
  session: Session,
  parts: {
    agents: readonly AgentRow[];
    threads: readonly ThreadRow[];
    tasks: readonly TaskRow[];
    escalations: readonly EscalationRow[];
    dead: number;
    partial: boolean;
    canList: boolean;
  },
): Html {
  return layout({
    title: 'Overview',
    session,
    nav: 'home',
    body: html`<h1>Overview</h1>${partialNote(parts.partial)}
${parts.canList ? '' : html`<p class="notice">This post office cannot list its accounts: the admin view is empty.</p>`}
<div data-live>
${
  parts.escalations.length > 0 || parts.dead > 0
    ? html`<p class="alert"><a href="/ui/attention">${[
        parts.escalations.length > 0
          ? `${parts.escalations.length} escalation${parts.escalations.length === 1 ? '' : 's'} waiting`
          : '',
        parts.dead > 0 ? `${parts.dead} failed task${parts.dead === 1 ? '' : 's'}` : '',
      ]
        .filter(Boolean)
        .join(', ')}</a></p>`
    : ''
}
<section><h2>Agents</h2>${agentsTable(parts.agents)}</section>
<section><h2>Tasks</h2>${tasksSection(parts.tasks, true)}</section>
<section><h2>Recent threads</h2>${threadsTable(parts.threads.slice(0, 10))}${
      parts.threads.length > 10 ? html`<p><a href="/ui/threads">All ${parts.threads.length} threads</a></p>` : ''
    }</section>
</div>`,
  });
}

export function agentsPage(session: Session, rows: readonly AgentRow[]): Html {
  return layout({
    title: 'Agents',
    session,
    nav: 'agents',
    body: html`<h1>Agents</h1><p class="muted">Send quotas: used / limit in the current hour and day.</p><div data-live>${agentsTable(rows)}</div>`,
  });
}

/** A body as text: JSON pretty-printed; long ones folded. */
export function bodyBlock(text: string, label = 'Body'): Html {
  let shown = text;
  let json = false;
  const t = text.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      shown = JSON.stringify(JSON.parse(t), null, 2);
      json = true;
    } catch {
      // not JSON: shown as it is
    }
  }
  const lines = shown.split('\n').length;
  const pre = html`<pre class="body${json ? ' json' : ''}">${shown}</pre>`;
  if (shown.length <= FOLD_CHARS && lines <= FOLD_LINES) return pre;
  return html`<details class="fold"><summary>${label}${json ? ' (JSON)' : ''}: ${lines} lines, ${shown.length} characters</summary>${pre}</details>`;
}

function messageCard(
  session: Session,
  m: Message,
  e: ReturnType<typeof timeline>[number],
  waiting: EscalationRow | undefined,
): Html {
  return html`<article class="message card" id="m-${m.message_id}" data-message-id="${m.message_id}">
<header><span class="elapsed">+${e.elapsedMs} ms</span> <strong>${name(m.from_address)}</strong> → ${[...m.to_addresses, ...m.cc_addresses].map(name).join(', ')}
${badge(e.state)}${waiting ? html`<span class="badge input-required">waiting for a decision</span>` : ''} <span class="muted">${when(m.created_at)}</span></header>
<h3 class="subject">${m.subject}</h3>
${m.body_text !== null && m.body_text !== '' ? bodyBlock(m.body_text) : html`<p class="muted">(no text body)</p>`}
${m.body_html ? html`<details class="fold"><summary>HTML body, shown as source</summary><pre class="body">${m.body_html}</pre></details>` : ''}
${waiting ? answerForm(session, waiting) : ''}
</article>`;
}

export function threadPage(session: Session, thread: Thread, waiting: readonly EscalationRow[], notice?: string): Html {
  const entries = timeline(thread);
  return layout({
    title: thread.subject,
    session,
    nav: 'threads',
    ...(notice ? { notice } : {}),
    body: html`<h1>${thread.subject}</h1>
<p class="muted">Thread <code>${thread.thread_id}</code> · ${thread.messages.length} message${thread.messages.length === 1 ? '' : 's'} between ${thread.participant_addresses.join(', ')}</p>
<div data-live>
<details class="diagram" open><summary>Sequence diagram</summary><div class="svg">${raw(renderSvg(entries))}</div></details>
<ol class="timeline">${thread.messages.map(
      (m, i) =>
        html`<li>${messageCard(
          session,
          m,
          entries[i] as (typeof entries)[number],
          waiting.find((w) => w.message.message_id === m.message_id),
        )}</li>`,
    )}</ol></div>`,
  });
}
