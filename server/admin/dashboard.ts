// The live dashboard: one self-contained page (no framework, no external resources) that
// polls the admin API every second — /api/admin/metrics for counters and gauges,
// /api/admin/node/status and /api/admin/module/list when those commands are enabled — and
// draws messages per second as a moving SVG line.

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Meerkat dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f6f5f2; color: #222; }
  header { background: #3b3024; color: #fff; padding: 10px 18px; display: flex; gap: 24px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 14px; padding: 14px; }
  section { background: #fff; border-radius: 6px; padding: 12px 14px; box-shadow: 0 1px 2px rgba(0,0,0,.1); }
  h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .05em; color: #666; margin: 0 0 8px; }
  .big { font-size: 28px; font-weight: 600; }
  table { border-collapse: collapse; width: 100%; }
  td { padding: 2px 4px; border-bottom: 1px solid #eee; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  #state.ready { color: #8f8; } #state.starting, #state.draining { color: #fd6; } #state.down { color: #f88; }
  svg { width: 100%; height: 140px; background: #fbfaf8; }
  .wide { grid-column: 1 / -1; }
</style>
</head>
<body>
<header><h1>Meerkat</h1><span>node: <b id="state">…</b></span><span>uptime: <b id="uptime">…</b></span><span id="error-banner"></span></header>
<main>
  <section class="wide">
    <h2>Messages per second</h2>
    <div><span class="big" id="rate">0</span> msg/s, <span id="messages-total">0</span> received in all</div>
    <svg id="graph" viewBox="0 0 600 140" preserveAspectRatio="none" aria-label="messages per second">
      <polyline id="line" fill="none" stroke="#c06a1b" stroke-width="2" points=""></polyline>
    </svg>
  </section>
  <section><h2>Online sessions by transport</h2><div class="big" id="sessions-total">0</div><table id="sessions"></table></section>
  <section><h2>Errors</h2><table id="errors"></table></section>
  <section><h2>Top counters</h2><table id="top"></table></section>
  <section><h2>Modules</h2><table id="modules"></table></section>
</main>
<script>
"use strict";
const POINTS = 60;
const rates = [];
let previous;
const $ = (id) => document.getElementById(id);

function sum(series, name, filter) {
  let total = 0;
  for (const s of series) if (s.name === name && (!filter || filter(s.labels))) total += s.value;
  return total;
}

function rows(table, entries) {
  table.replaceChildren(...entries.map(([k, v]) => {
    const tr = document.createElement('tr');
    const a = document.createElement('td'); a.textContent = k;
    const b = document.createElement('td'); b.textContent = String(v); b.className = 'n';
    tr.append(a, b);
    return tr;
  }));
}

function labelText(labels) {
  const parts = Object.entries(labels).map(([k, v]) => k + '=' + v);
  return parts.length ? '{' + parts.join(',') + '}' : '';
}

function draw() {
  const max = Math.max(1, ...rates);
  const step = 600 / (POINTS - 1);
  const offset = POINTS - rates.length;
  $('line').setAttribute('points', rates.map((r, i) => ((offset + i) * step).toFixed(1) + ',' + (138 - (r / max) * 130).toFixed(1)).join(' '));
}

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
  if (!response.ok) throw new Error(path + ': HTTP ' + response.status);
  return response.json();
}

async function tick() {
  let snapshot;
  try {
    snapshot = await getJson('/api/admin/metrics');
    $('error-banner').textContent = '';
  } catch (err) {
    $('state').textContent = 'unreachable'; $('state').className = 'down';
    $('error-banner').textContent = String(err.message);
    return;
  }
  const series = snapshot.series;
  $('state').textContent = snapshot.state; $('state').className = snapshot.state;
  $('uptime').textContent = Math.round((Date.now() - snapshot.startedAt) / 1000) + 's';

  const messages = sum(series, 'stanzas_in_total', (l) => l.kind === 'message');
  const now = performance.now();
  if (previous) rates.push(Math.max(0, (messages - previous.messages) / ((now - previous.at) / 1000)));
  else rates.push(0);
  if (rates.length > POINTS) rates.shift();
  previous = { messages, at: now };
  $('rate').textContent = rates[rates.length - 1].toFixed(1);
  $('messages-total').textContent = String(messages);
  draw();

  const byTransport = series.filter((s) => s.name === 'sessions_by_transport');
  $('sessions-total').textContent = String(byTransport.reduce((t, s) => t + s.value, 0));
  rows($('sessions'), byTransport.map((s) => [s.labels.transport, s.value]));

  rows($('errors'), [
    ['error stanzas', sum(series, 'error_stanzas_total')],
    ['stream errors', sum(series, 'stream_errors_total')],
    ['auth failures', sum(series, 'auth_failures_total')],
    ['bounced', sum(series, 'router_bounced_total')],
  ]);

  const top = series.filter((s) => s.type === 'counter').sort((a, b) => b.value - a.value).slice(0, 10);
  rows($('top'), top.map((s) => [s.name + labelText(s.labels), s.value]));
}

async function modules() {
  try {
    const result = await getJson('/api/admin/module/list');
    rows($('modules'), Object.entries(result.data.running).map(([host, mods]) => [host, mods.length + ': ' + mods.join(' ')]));
  } catch {
    rows($('modules'), [['module list', 'not enabled']]);
  }
}

const interval = Number(new URLSearchParams(location.search).get('interval')) || 1000;
tick(); modules();
setInterval(tick, interval);
setInterval(modules, 15000);
</script>
</body>
</html>
`;
