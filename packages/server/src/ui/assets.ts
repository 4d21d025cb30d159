// The dashboard's only stylesheet and script, served from /ui/assets (the CSP allows 'self' only).

export const CSS = `
:root{--fg:#1d2330;--muted:#5d6677;--line:#d8dde6;--bg:#f5f7fa;--card:#fff;--accent:#2f5bd3;--bad:#b42318;--ok:#1d7a45;--warn:#a15c00}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}
header.top{display:flex;align-items:center;gap:1.5em;padding:.6em 1.5em;background:#1d2330;color:#fff;flex-wrap:wrap}
header.top a{color:#dfe6f5;text-decoration:none}
header.top .brand{font-weight:700;font-size:1.1em;color:#fff}
header.top nav{display:flex;gap:1em;flex:1}
header.top nav a[aria-current=page]{color:#fff;border-bottom:2px solid #8fb0ff}
.who{display:flex;gap:.6em;align-items:center;font-size:.9em;color:#dfe6f5}
.live{color:#888;font-size:.8em}.live[data-state=open]{color:#3ccf7a}.live[data-state=error]{color:#ff6b5b}
main{max-width:1200px;margin:0 auto;padding:1em 1.5em 3em}
h1{font-size:1.5em;margin:.4em 0 .6em}h2{font-size:1.15em;margin:1.4em 0 .5em}h3{font-size:1em;margin:.3em 0}
table{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line);border-radius:6px}
th,td{padding:.45em .7em;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#eef1f6;font-weight:600;font-size:.9em}
td.num,.num{font-variant-numeric:tabular-nums;white-space:nowrap}
meter{width:7em;vertical-align:middle}
table.tasks,table.dead{table-layout:fixed}
table.tasks th:nth-child(1){width:34%}table.tasks th:nth-child(2){width:22%}table.tasks th:nth-child(3){width:22%}
table.dead th:nth-child(1){width:16%}table.dead th:nth-child(2){width:20%}table.dead th:nth-child(4){width:20%}
.muted{color:var(--muted);font-size:.9em}
.empty{color:var(--muted);font-style:italic}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.8em 1em;margin:.6em 0}
.card.narrow{max-width:30em;margin:3em auto}
.notice{background:#eef4ff;border:1px solid #b9cdfa;padding:.5em .8em;border-radius:6px}
.alert{background:#fff4e5;border:1px solid #f3c98b;padding:.5em .8em;border-radius:6px;font-weight:600}
.error{background:#fdecea;border:1px solid #f1b0a8;color:var(--bad);padding:.5em .8em;border-radius:6px}
.badge{display:inline-block;padding:.05em .55em;border-radius:1em;font-size:.8em;font-weight:600;background:#e6e9ef;color:#333}
.badge.completed{background:#dcf3e5;color:var(--ok)}.badge.failed,.badge.timed_out{background:#fde3e0;color:var(--bad)}
.badge.working,.badge.accepted{background:#e2ebff;color:#1f48b8}.badge.input-required{background:#fff1d6;color:var(--warn)}
.badge.canceled{background:#eceff3;color:#555}
ul.counts{list-style:none;display:flex;gap:1em;padding:0;flex-wrap:wrap}
ul.counts a{text-decoration:none;color:inherit}
form.inline{display:inline;margin:0}
button{font:inherit;padding:.35em .9em;border-radius:6px;border:1px solid #2a4db3;background:var(--accent);color:#fff;cursor:pointer}
button.link{background:none;border:none;color:#dfe6f5;text-decoration:underline;padding:0}
input[type=text],input[type=search],input[type=password]{font:inherit;padding:.35em .5em;border:1px solid #b8c0cc;border-radius:6px}
form.search{display:flex;gap:.5em;align-items:center}form.search input{flex:1;max-width:36em}
.card.narrow form{display:flex;flex-direction:column;gap:.6em}
ol.timeline{list-style:none;padding:0}
article.message header{font-size:.92em}
article.message .elapsed{font-variant-numeric:tabular-nums;color:var(--muted);display:inline-block;min-width:5.5em}
pre.body{background:#f7f8fb;border:1px solid var(--line);border-radius:6px;padding:.6em .8em;overflow:auto;max-height:40em;white-space:pre-wrap;word-break:break-word;font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre.json{background:#f4f7ff}
details.fold summary{cursor:pointer;color:var(--accent);margin:.3em 0}
details.diagram{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.5em 1em}
details.diagram .svg{overflow-x:auto}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;margin:.5em 0}dt{font-weight:600;color:var(--muted)}dd{margin:0}
form.answer fieldset{border:1px solid #f3c98b;background:#fffaf2;border-radius:6px;display:flex;gap:1em;align-items:center;flex-wrap:wrap}
form.answer label.note{display:flex;gap:.4em;align-items:center;flex:1}form.answer label.note input{flex:1}
.escalation{border-left:4px solid #f0a53a}
`;

/**
 * Live updates: the server says "mail landed" on /ui/events (Server-Sent Events); the page fetches
 * itself again and swaps the parts marked data-live, unless a form in one of them is being filled in.
 * It does so once each time the stream opens too, and only then marks the document
 * `data-events="open"`.
 */
export const JS = `'use strict';
(function () {
  var dot = document.getElementById('live');
  var pending = false;
  function state(s) { if (dot) { dot.setAttribute('data-state', s); dot.title = 'Live updates: ' + s; } }
  function busy(el) {
    var a = document.activeElement;
    if (a && el.contains(a) && (a.tagName === 'INPUT' || a.tagName === 'TEXTAREA' || a.tagName === 'SELECT')) return true;
    var fields = el.querySelectorAll('input[type=text], textarea, input[type=radio]');
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.type === 'radio' ? f.checked : f.value !== '') return true;
    }
    return false;
  }
  // Refreshes can overlap (a stream opening, then mail): an answer older than one shown is dropped.
  var asked = 0, shown = 0;
  function refresh(then) {
    pending = false;
    var mine = ++asked;
    fetch(location.href, { credentials: 'same-origin', headers: { 'x-mailroom-live': '1' } })
      .then(function (res) { return res.ok && !res.redirected ? res.text() : null; })
      .then(function (text) {
        if (text === null || mine < shown) return;
        shown = mine;
        var next = new DOMParser().parseFromString(text, 'text/html').querySelectorAll('[data-live]');
        var now = document.querySelectorAll('[data-live]');
        if (next.length !== now.length) return;
        for (var i = 0; i < now.length; i++) {
          if (busy(now[i])) continue;
          now[i].replaceWith(document.importNode(next[i], true));
        }
        document.dispatchEvent(new CustomEvent('mailroom:updated'));
      })
      .catch(function () { state('error'); })
      .then(then);
  }
  if (!('EventSource' in window)) return;
  var events = new EventSource('/ui/events');
  // Mail that landed after the page was made and before the stream listened (or while it was
  // down, before a reconnect) said nothing: each time the stream opens, the page looks once.
  events.addEventListener('open', function () {
    state('open');
    refresh(function () { document.documentElement.setAttribute('data-events', 'open'); });
  });
  events.addEventListener('error', function () { state(events.readyState === 2 ? 'closed' : 'error'); });
  events.addEventListener('mail', function () {
    if (pending) return;
    pending = true;
    setTimeout(function () { refresh(); }, 150);
  });
})();
`;
