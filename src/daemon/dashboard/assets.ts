/**
 * The page's stylesheet and script, inline and allowed by their SHA-256 in the CSP (page.ts). The
 * script only makes the page live: it re-reads `?part=live` every two seconds and sends an
 * approval or a sync, with the token the person typed, to the API's own endpoints (as `poolsync
 * approve` and `poolsync sync` do). Without JavaScript the page refreshes by a <meta> refresh.
 */

/** The terminal's palette (ANSI names, as src/render/text.ts paints), then the page. */
export const STYLE = `
:root { color-scheme: light; --fg: #1d2330; --muted: #5d6677; --line: #d9dde5; --bg: #f6f7f9;
  --card: #fff; --term: #161b22; --term-fg: #d7dde8; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header.top { display: flex; align-items: baseline; gap: 1rem; padding: .75rem 1.25rem; background: #1d2330; color: #fff; }
header.top h1 { margin: 0; font-size: 1.15rem; letter-spacing: .02em; }
header.top nav { margin-left: auto; display: flex; gap: 1rem; }
header.top a { color: #c9d4ff; }
#live-state { color: #aab3c5; font-size: .85rem; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem 1.25rem 2rem; display: grid; grid-template-columns: minmax(0, 1fr); gap: 1rem; }
#live { display: grid; grid-template-columns: minmax(0, 1fr); gap: 1rem; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem; overflow-x: auto; }
h2 { margin: 0 0 .5rem; font-size: 1rem; }
code, pre, .fp { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
.fp { word-break: break-all; }
pre.plan { background: var(--term); color: var(--term-fg); padding: .75rem 1rem; border-radius: 6px; overflow-x: auto; margin: .5rem 0; white-space: pre; }
.t-bold { font-weight: 700; } .t-dim { color: #8b94a5; }
.t-red { color: #ff7b72; } .t-green { color: #56d364; } .t-yellow { color: #e3b341; }
.t-blue { color: #79c0ff; } .t-magenta { color: #d2a8ff; } .t-cyan { color: #56d4dd; }
section > p .t-green, dd .t-green { color: #1a7f37; } section > p .t-red, dd .t-red { color: #cf222e; }
dd .t-yellow { color: #9a6700; } dd .t-magenta { color: #8250df; }
.muted { color: var(--muted); }
.notice { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: .4rem .7rem; }
dl.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: .5rem 1.5rem; margin: 0; }
dl.facts div { display: flex; flex-direction: column; }
dt { font-size: .75rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
dd { margin: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .6rem .3rem 0; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .75rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
.badge { display: inline-block; padding: 0 .5rem; border-radius: 999px; font-size: .8rem; font-weight: 600; white-space: nowrap; }
.badge.ok { background: #dafbe1; color: #116329; } .badge.warn { background: #fff8c5; color: #7d4e00; }
.badge.bad { background: #ffebe9; color: #a40e26; } .badge.info { background: #ddf4ff; color: #0a3069; }
.badge.none { background: #eaeef2; color: #57606a; font-weight: 500; }
form.filter { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: .5rem 0; }
form.filter input, form.filter select, form.filter button { font: inherit; padding: .25rem .4rem; border: 1px solid var(--line); border-radius: 4px; }
form.filter input { min-width: 18rem; }
a.count { text-decoration: none; }
ul.objects, ul.objects ul { list-style: none; margin: 0; padding-left: 1.2rem; border-left: 1px solid var(--line); }
ul.objects { padding-left: 0; border-left: 0; }
ul.objects li { margin: .15rem 0; }
details.object > summary { cursor: pointer; }
details.object code.address { font-weight: 600; }
code.source { color: var(--muted); }
details.run { border-top: 1px solid var(--line); padding: .4rem 0; }
details.run > summary { cursor: pointer; display: flex; flex-wrap: wrap; gap: .6rem; align-items: baseline; }
.run-id { font-weight: 700; } .trigger { font-family: ui-monospace, monospace; }
.message { margin: .4rem 0; }
.phases { display: flex; flex-wrap: wrap; align-items: center; gap: .75rem; margin: .25rem 0; }
.phases ul { display: flex; flex-wrap: wrap; gap: .75rem; list-style: none; margin: 0; padding: 0; color: var(--muted); }
.phases .key { display: inline-block; width: .7rem; height: .7rem; border-radius: 2px; margin-right: .3rem; }
.ph-0 { fill: #4f8ef7; background: #4f8ef7; } .ph-1 { fill: #a371f7; background: #a371f7; }
.ph-2 { fill: #2da44e; background: #2da44e; } .ph-3 { fill: #e3b341; background: #e3b341; }
.ph-4 { fill: #f0883e; background: #f0883e; } .ph-5 { fill: #db61a2; background: #db61a2; }
.ph-other { fill: #afb8c1; background: #afb8c1; }
#approve-panel { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; }
#approve-panel label { display: flex; flex-direction: column; font-size: .8rem; color: var(--muted); }
#approve-panel input { font: inherit; padding: .3rem .4rem; border: 1px solid var(--line); border-radius: 4px; min-width: 16rem; }
button.approve, button.sync, button.rollback { font: inherit; font-weight: 600; padding: .35rem .9rem; border-radius: 6px; border: 1px solid #1a7f37; background: #2da44e; color: #fff; cursor: pointer; }
button.approve:disabled, button.sync:disabled, button.rollback:disabled { opacity: .6; cursor: progress; }
#approve-panel button { align-self: end; }
#approve-result:empty { display: none; }
#approve-result.ok { color: #116329; } #approve-result.bad { color: #a40e26; }
.js-only { display: none; } .js .js-only { display: block; } .js #approve-panel.js-only { display: flex; }
[hidden] { display: none !important; }
nav.jump { position: sticky; top: 0; z-index: 2; display: flex; flex-wrap: wrap; gap: .25rem .9rem; padding: .45rem 1rem; background: var(--card); border: 1px solid var(--line); border-radius: 8px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
nav.jump a { text-decoration: none; font-weight: 600; }
nav.jump .count { display: inline-block; padding: 0 .4rem; border-radius: 999px; background: #eaeef2; color: #57606a; font-size: .75rem; }
section { scroll-margin-top: 3.2rem; }
details.warnings > summary, details.plan > summary { cursor: pointer; }
details.warnings > ul { margin-top: .25rem; }
footer { max-width: 1200px; margin: 0 auto; padding: 0 1.25rem 2rem; color: var(--muted); font-size: .8rem; }
`;

/** Runs in the page; plain ES2020, no build step. Writes text with textContent only. */
export const SCRIPT = `
'use strict';
(function () {
  document.documentElement.classList.add('js');
  var live = document.getElementById('live');
  var state = document.getElementById('live-state');
  var panel = document.getElementById('approve-panel');
  var result = document.getElementById('approve-result');
  var etag = live.getAttribute('data-etag') || '';
  var busy = false;

  function say(text, ok) {
    result.textContent = text;
    result.className = ok ? 'ok' : 'bad';
  }
  // The live part as the page's address asks for it (the Objects filter and page kept).
  var query = new URLSearchParams(location.search);
  query.set('part', 'live');
  function refresh() {
    if (busy) return Promise.resolve();
    busy = true;
    return fetch('?' + query.toString(), { headers: { 'if-none-match': etag }, cache: 'no-store', credentials: 'omit' })
      .then(function (res) {
        if (res.status === 304) return null;
        if (!res.ok) throw new Error('HTTP ' + res.status);
        etag = res.headers.get('etag') || '';
        return res.text();
      })
      .then(function (text) {
        if (text !== null) {
          var open = {};
          live.querySelectorAll('details[id]').forEach(function (d) { open[d.id] = d.open; });
          live.innerHTML = text;
          live.setAttribute('data-etag', etag);
          live.querySelectorAll('details[id]').forEach(function (d) {
            if (Object.prototype.hasOwnProperty.call(open, d.id)) d.open = open[d.id];
          });
        }
        state.textContent = 'live, checked ' + new Date().toLocaleTimeString();
      })
      .catch(function (err) {
        state.textContent = 'cannot reach the daemon (' + err.message + '); retrying';
      })
      .then(function () { busy = false; });
  }
  live.addEventListener('click', function (event) {
    var back = event.target.closest('button.rollback');
    if (back) return rollback(back);
    var button = event.target.closest('button.approve');
    if (!button) return;
    var approver = document.getElementById('approver').value.trim();
    var token = document.getElementById('admin-token').value.trim();
    if (approver === '' || token === '') {
      say('Enter your name and the daemon admin token first.', false);
      return;
    }
    var fingerprint = button.getAttribute('data-fingerprint');
    var body = withEnvironment(button, { fingerprint: fingerprint, approver: approver });
    var done = function (answer) {
      return 'Approved ' + fingerprint + ' as ' + approver + (answer.frozen
        ? '; applies are frozen (' + answer.frozen + '): the changes wait until applies may go, then the daemon applies them.'
        : ': the daemon applies exactly these changes now.');
    };
    post(button, 'approve', token, body, done, 'Not approved');
  });
  // POST /rollback as \`poolsync rollback RUN\` sends it: that run's commit, per policy.
  function rollback(button) {
    var by = document.getElementById('approver').value.trim();
    var token = document.getElementById('admin-token').value.trim();
    if (by === '' || token === '') {
      say('Enter your name and the daemon admin token first.', false);
      return;
    }
    var run = Number(button.getAttribute('data-run'));
    var done = 'Rolling back to run #' + run + ': its commit is applied per policy, and the branch waits until a new commit or poolsync resume.';
    post(button, 'rollback', token, withEnvironment(button, { run: run, by: by }), done, 'Not rolled back');
  }
  // The environment of the button's section: two may hold the same changes, each has its runs.
  function withEnvironment(button, asked) {
    var environment = button.getAttribute('data-environment');
    if (environment) asked.environment = environment;
    return JSON.stringify(asked);
  }
  var sync = document.getElementById('sync');
  if (sync) sync.addEventListener('click', function () {
    var token = document.getElementById('admin-token').value.trim();
    if (token === '') {
      say('Enter the daemon admin token first.', false);
      return;
    }
    var done = 'The daemon fetches and reconciles now: the run appears under Recent runs.';
    post(sync, 'reconcile', token, undefined, done, 'Not synced');
  });
  // An approval or a sync: POST to the daemon's own API with the admin token, then say how it went.
  function post(button, path, token, body, done, refused) {
    var headers = { authorization: 'Bearer ' + token };
    if (body !== undefined) headers['content-type'] = 'application/json';
    button.disabled = true;
    fetch(path, { method: 'POST', headers: headers, body: body, cache: 'no-store', credentials: 'omit' })
      .then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (answer) {
          if (res.ok) say(typeof done === 'function' ? done(answer) : done, true);
          else say(refused + ' (HTTP ' + res.status + '): ' + (answer.reason || answer.error || res.statusText), false);
        });
      })
      .catch(function (err) { say(refused + ': ' + err.message, false); })
      .then(function () { button.disabled = false; return refresh(); });
  }
  state.textContent = 'live';
  setInterval(function () { if (!document.hidden) refresh(); }, 2000);
})();
`;
