/**
 * The report's style and script, inlined into every file: the page makes no request of any kind (its content security
 * policy forbids them too), so it opens offline, from disk or an attachment, the same way.
 */
export const reportStyle = `
:root { color-scheme: light; --border: #e2e8f0; --muted: #64748b; --text: #0f172a; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; color: var(--text); background: #f8fafc; }
header { padding: 16px 24px 8px; background: #fff; border-bottom: 1px solid var(--border); }
h1 { font-size: 18px; margin: 0 0 6px; }
h2 { font-size: 14px; margin: 0 0 8px; }
.summary { display: flex; flex-wrap: wrap; gap: 6px 18px; color: var(--muted); }
.summary b { color: var(--text); font-weight: 600; }
.legend { display: flex; gap: 14px; margin-top: 8px; color: var(--muted); }
.legend span::before { content: ''; display: inline-block; width: 11px; height: 11px; margin-right: 5px; vertical-align: -1px; border-radius: 3px; background: var(--swatch); border: 1px solid var(--swatch-stroke); }
main { display: grid; grid-template-columns: minmax(0, 1fr) 380px; gap: 16px; padding: 16px 24px; align-items: start; }
section { background: #fff; border: 1px solid var(--border); border-radius: 8px; padding: 12px 14px; min-width: 0; }
.graph { overflow: auto; max-height: 70vh; }
.graph svg { display: block; }
.graph .node, .graph .group { cursor: pointer; }
.graph .selected > rect:first-child { stroke-width: 3; }
.timeline-section { grid-column: 1; }
.toolbar { display: flex; gap: 6px; align-items: center; margin-bottom: 8px; color: var(--muted); }
.toolbar button { font: inherit; border: 1px solid var(--border); background: #fff; border-radius: 6px; padding: 2px 10px; cursor: pointer; }
.toolbar button[aria-pressed='true'] { background: #0f172a; color: #fff; border-color: #0f172a; }
.timeline { font-variant-numeric: tabular-nums; max-height: 70vh; overflow: auto; border-top: 1px solid var(--border); }
.row { display: grid; grid-template-columns: minmax(220px, 34%) 150px 1fr; gap: 8px; align-items: center; padding: 2px 4px; border-bottom: 1px solid #f1f5f9; cursor: pointer; content-visibility: auto; contain-intrinsic-size: auto 22px; }
.row:hover { background: #f1f5f9; }
.row.selected { background: #e0f2fe; }
.row .label { padding-left: calc(var(--depth) * 14px); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.row .kind, .row .meta { color: var(--muted); }
.row .mark { display: inline-block; width: 14px; font-weight: 700; }
.row[data-status='complete'] .mark { color: #15803d; }
.row[data-status='failed'] .mark { color: #b91c1c; }
.row[data-status='running'] .mark { color: #4338ca; }
.lane { position: relative; height: 14px; background: #f8fafc; border-radius: 3px; }
.bar { position: absolute; top: 2px; bottom: 2px; min-width: 2px; border-radius: 2px; }
.row[data-status='complete'] .bar { background: #4ade80; }
.row[data-status='failed'] .bar { background: #f87171; }
.row[data-status='running'] .bar { background: #818cf8; }
.bar .wait { position: absolute; top: -2px; bottom: -2px; min-width: 2px; background: repeating-linear-gradient(135deg, #f59e0b 0 3px, #fde68a 3px 6px); }
.timeline[data-filter='failed'] .row:not([data-status='failed']) { display: none; }
.timeline[data-filter='retried'] .row:not([data-retried]) { display: none; }
.timeline[data-filter='shape'] .row:not(.in-shape) { display: none; }
.details { position: sticky; top: 16px; max-height: calc(100vh - 32px); overflow: auto; grid-column: 2; grid-row: 1 / span 2; }
.details dl { display: grid; grid-template-columns: 92px 1fr; gap: 3px 10px; margin: 0 0 10px; }
.details dt { color: var(--muted); }
.details dd { margin: 0; overflow-wrap: anywhere; }
.details pre { margin: 0 0 10px; padding: 8px; background: #f8fafc; border: 1px solid var(--border); border-radius: 6px; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 320px; overflow: auto; }
.details h3 { font-size: 12px; margin: 12px 0 4px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.details ol { margin: 0 0 10px; padding-left: 20px; }
.details .error { color: #b91c1c; }
.note { color: var(--muted); margin: 8px 0 0; }
`

/** Selection, filters and the details panel. The data comes from the page's own JSON. */
export const reportScript = `
(() => {
  const runs = JSON.parse(document.getElementById('run-data').textContent);
  const timeline = document.querySelector('.timeline');
  const panel = document.querySelector('.details-body');
  const rows = timeline.querySelectorAll('.row');
  const element = (tag, text, className) => { const node = document.createElement(tag); if (text !== undefined) node.textContent = text; if (className) node.className = className; return node; };
  const duration = (ms) => ms === undefined ? 'not finished' : ms < 1 ? Math.round(ms * 1000) + ' µs' : ms < 1000 ? ms.toFixed(1) + ' ms' : (ms / 1000).toFixed(2) + ' s';
  let selectedRow;
  function show(index) {
    const run = runs[index];
    if (selectedRow) selectedRow.classList.remove('selected');
    selectedRow = rows[index];
    selectedRow.classList.add('selected');
    panel.replaceChildren();
    panel.append(element('h2', run.function));
    const facts = element('dl');
    const fact = (name, value) => { facts.append(element('dt', name), element('dd', String(value))); };
    fact('status', run.status);
    fact('kind', run.kind);
    fact('run id', run.runId);
    fact('started', '+' + duration(run.startMs));
    fact('duration', duration(run.durationMs));
    fact('attempts', run.attempts);
    if (run.usage) {
      fact('tokens', run.usage.totalTokens + ' (in ' + run.usage.inputTokens + ', out ' + run.usage.outputTokens + ') in ' + run.usage.calls + ' call' + (run.usage.calls === 1 ? '' : 's') + (run.usageEstimated ? ', estimated: the server reported none' : ''));
      fact('cost', run.usage.unpricedCalls === run.usage.calls ? 'unknown' : (run.usage.unpricedCalls > 0 ? '≥ ' : '') + '$' + run.usage.costUsd.toFixed(6));
    }
    panel.append(facts);
    if (run.error) { panel.append(element('h3', 'Error'), element('p', run.error.headline, 'error'), element('pre', run.error.detail)); }
    if (run.retries.length > 0) {
      panel.append(element('h3', 'Retries'));
      const list = element('ol');
      run.retries.forEach((retry, index) => {
        if (run.retriesLeftOut && index === run.retries.length / 2) list.append(element('li', '… ' + run.retriesLeftOut + ' more retries', 'note'));
        list.append(element('li', 'attempt ' + retry.attempt + ' failed; waited ' + duration(retry.endMs - retry.startMs) + ': ' + retry.reason));
      });
      panel.append(list);
    }
    panel.append(element('h3', 'States'));
    const states = element('ol');
    run.states.forEach(([state, at, attempt, reason], index) => {
      if (run.statesLeftOut && index === run.states.length / 2) states.append(element('li', '… ' + run.statesLeftOut + ' more states', 'note'));
      states.append(element('li', state + ' +' + duration(at) + (attempt > 0 ? ' (attempt ' + attempt + ')' : '') + (reason ? ' — ' + reason : '')));
    });
    panel.append(states);
    if (run.input !== undefined) panel.append(element('h3', 'Input'), element('pre', run.input));
    if (run.output !== undefined) panel.append(element('h3', 'Output'), element('pre', run.output));
    if (run.annotations !== undefined) panel.append(element('h3', 'Annotations'), element('pre', run.annotations));
  }
  timeline.addEventListener('click', (event) => { const row = event.target.closest('.row'); if (row) show(Number(row.dataset.index)); });
  const buttons = document.querySelectorAll('.toolbar button');
  const shapeNote = document.querySelector('.shape-note');
  const filter = (name) => { timeline.dataset.filter = name; if (name !== 'shape') shapeNote.hidden = true; for (const button of buttons) button.setAttribute('aria-pressed', String(button.dataset.filter === name)); };
  // A node's runs past maxRows are in no row: said, so a node whose runs are all past it does not empty the timeline without a word.
  function noteUnlisted(node, listed) {
    const runs = Number(node.dataset.runs);
    const left = runs - listed;
    const maxRows = 'maxRows (' + Number(shapeNote.dataset.maxRows).toLocaleString('en-US') + ')';
    const count = (value) => value.toLocaleString('en-US');
    shapeNote.hidden = left <= 0;
    shapeNote.textContent = left <= 0 ? ''
      : listed === 0 ? 'The ' + count(runs) + ' run' + (runs === 1 ? ' of ' + node.dataset.name + ' is' : 's of ' + node.dataset.name + ' are') + ' past ' + maxRows + ': the timeline lists none of ' + (runs === 1 ? 'it.' : 'them.')
      : count(left) + ' of the ' + count(runs) + ' runs of ' + node.dataset.name + ' ' + (left === 1 ? 'is' : 'are') + ' past ' + maxRows + ': the timeline lists ' + count(listed) + '.';
  }
  for (const button of buttons) button.addEventListener('click', () => filter(button.dataset.filter));
  for (const node of document.querySelectorAll('.run-graph [data-shape]')) {
    node.addEventListener('click', (event) => {
      event.stopPropagation();
      const shape = node.dataset.shape;
      for (const other of document.querySelectorAll('.run-graph .selected')) other.classList.remove('selected');
      node.classList.add('selected');
      let first;
      let listed = 0;
      for (const row of rows) { const inShape = row.dataset.shape === shape; row.classList.toggle('in-shape', inShape); if (inShape) { listed++; if (first === undefined) first = row; } }
      filter('shape');
      noteUnlisted(node, listed);
      if (first) { show(Number(first.dataset.index)); first.scrollIntoView({ block: 'nearest' }); }
    });
  }
  if (rows.length > 0) show(Number((timeline.querySelector(".row[data-status='failed']") || rows[0]).dataset.index));
})();
`
