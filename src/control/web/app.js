// steward's web page: talks XML-RPC to /RPC2 and follows /logtail streams. Every name and log byte
// goes into the page as text (textContent, Text nodes, dataset), never as markup.
'use strict';

const REFRESH_MS = 2000;
const TAIL_MAX_CHARS = 400000;
const $ = (id) => document.getElementById(id);
// From the origin, never the page's URL: a page opened as http://user:pass@host/ has the credentials
// in its URL, and fetch refuses URLs with credentials (the browser sends the cached ones anyway).
const url = (path) => location.origin + path;

// ---- XML-RPC -----------------------------------------------------------------------------------

function xmlEscape(s) {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function encodeParam(v) {
  if (typeof v === 'boolean') return '<boolean>' + (v ? 1 : 0) + '</boolean>';
  if (typeof v === 'number') return '<int>' + Math.trunc(v) + '</int>';
  return '<string>' + xmlEscape(String(v)) + '</string>';
}

function decodeValue(node) {
  const t = node.firstElementChild;
  if (!t) return node.textContent;
  switch (t.tagName) {
    case 'int': case 'i4': case 'i8': case 'double': return Number(t.textContent);
    case 'boolean': return t.textContent.trim() === '1';
    case 'nil': return null;
    case 'array': {
      const data = t.querySelector(':scope > data');
      return data ? Array.from(data.children, decodeValue) : [];
    }
    case 'struct': {
      const o = {};
      for (const m of t.children) {
        const name = m.querySelector(':scope > name');
        const value = m.querySelector(':scope > value');
        if (name && value) o[name.textContent] = decodeValue(value);
      }
      return o;
    }
    default: return t.textContent;
  }
}

class Fault extends Error {
  constructor(code, text) { super(text); this.code = code; }
}

async function rpc(method, ...params) {
  const body = '<?xml version="1.0"?><methodCall><methodName>' + xmlEscape(method) +
    '</methodName><params>' + params.map((p) => '<param><value>' + encodeParam(p) +
    '</value></param>').join('') + '</params></methodCall>';
  const resp = await fetch(url('/RPC2'), {
    method: 'POST', body, cache: 'no-store', headers: { 'Content-Type': 'text/xml' },
  });
  if (!resp.ok) throw new Error(method + ': HTTP ' + resp.status);
  const doc = new DOMParser().parseFromString(await resp.text(), 'text/xml');
  if (doc.querySelector('parsererror')) throw new Error(method + ': unreadable answer');
  const fault = doc.querySelector('methodResponse > fault > value');
  if (fault) {
    const f = decodeValue(fault);
    throw new Fault(f.faultCode, f.faultString);
  }
  const v = doc.querySelector('methodResponse > params > param > value');
  return v ? decodeValue(v) : null;
}

// ---- the process table --------------------------------------------------------------------------

const rows = new Map(); // namespec -> {tr, info}
let clockSkew = 0; // server time minus ours, seconds
let refreshTimer = null;
let refreshing = false;
let refreshAgain = false; // asked for while one was in flight: its answer may predate an action

function namespec(p) {
  return p.group === p.name ? p.name : p.group + ':' + p.name;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function button(act, label, cls) {
  const b = el('button', cls, label);
  b.type = 'button';
  b.dataset.act = act;
  return b;
}

function duration(s) {
  s = Math.max(0, Math.floor(s));
  const d = Math.floor(s / 86400);
  const h = Math.floor(s / 3600) % 24;
  const m = String(Math.floor(s / 60) % 60).padStart(2, '0');
  const sec = String(s % 60).padStart(2, '0');
  return (d ? d + 'd ' : '') + h + ':' + m + ':' + sec;
}

function makeRow(ns) {
  const tr = el('tr');
  tr.dataset.name = ns;
  const state = el('td', 'st');
  state.append(el('span', 'state'));
  const bar = el('div', 'bar');
  bar.append(
    button('start', 'Start'), button('stop', 'Stop', 'danger'), button('restart', 'Restart'),
    button('clear', 'Clear log'), button('tail', 'Tail'));
  const actions = el('td', 'actions');
  actions.append(bar);
  tr.append(state, el('td', 'name', ns), el('td', 'desc'), el('td', 'uptime'), actions);
  return tr;
}

function uptimeText(p) {
  if (p.statename !== 'RUNNING' || !p.start) return '';
  return duration(Date.now() / 1000 + clockSkew - p.start);
}

function paintRow(r) {
  const p = r.info;
  const [state, , desc, uptime] = r.tr.children;
  const badge = state.firstChild;
  badge.textContent = p.statename;
  badge.className = 'state ' + p.statename;
  desc.textContent = p.description;
  uptime.textContent = uptimeText(p);
  const busy = r.tr.classList.contains('busy');
  const s = p.statename;
  for (const b of r.tr.querySelectorAll('button')) {
    let off = busy;
    if (b.dataset.act === 'start') off ||= ['RUNNING', 'STARTING', 'STOPPING'].includes(s);
    if (b.dataset.act === 'stop') off ||= ['STOPPED', 'EXITED', 'FATAL', 'STOPPING'].includes(s);
    if (b.dataset.act === 'restart') off ||= s === 'STOPPING';
    b.disabled = off;
  }
  applyFilter(r.tr);
}

function applyFilter(tr) {
  const f = $('filter').value.trim().toLowerCase();
  tr.hidden = f !== '' && !tr.dataset.name.toLowerCase().includes(f);
}

function show(text, isError) {
  const m = $('message');
  m.textContent = text;
  m.className = isError ? 'error' : '';
  m.hidden = false;
}

async function refresh() {
  clearTimeout(refreshTimer);
  if (refreshing) { refreshAgain = true; return; }
  refreshing = true;
  try {
    const procs = await rpc('supervisor.getAllProcessInfo');
    const seen = new Set();
    const body = $('rows');
    const counts = { RUNNING: 0, down: 0, bad: 0 };
    procs.forEach((p, i) => {
      const ns = namespec(p);
      seen.add(ns);
      let r = rows.get(ns);
      if (!r) {
        r = { tr: makeRow(ns), info: p };
        rows.set(ns, r);
      }
      r.info = p;
      if (body.children[i] !== r.tr) body.insertBefore(r.tr, body.children[i] || null);
      if (p.now) clockSkew = p.now - Date.now() / 1000;
      paintRow(r);
      if (p.statename === 'RUNNING') counts.RUNNING++;
      else if (['FATAL', 'UNKNOWN', 'BACKOFF'].includes(p.statename)) counts.bad++;
      else counts.down++;
    });
    for (const [ns, r] of rows) {
      if (!seen.has(ns)) { r.tr.remove(); rows.delete(ns); }
    }
    $('empty').hidden = procs.length !== 0;
    const parts = [procs.length + (procs.length === 1 ? ' process' : ' processes'),
      counts.RUNNING + ' running'];
    if (counts.down) parts.push(counts.down + ' not running');
    if (counts.bad) parts.push(counts.bad + ' failing');
    parts.push('updated ' + new Date().toLocaleTimeString());
    $('summary').textContent = parts.join(' · ');
  } catch (e) {
    $('summary').textContent = 'cannot reach steward: ' + e.message;
  } finally {
    refreshing = false;
    if (refreshAgain) { refreshAgain = false; refresh(); }
    else if (!document.hidden) refreshTimer = setTimeout(refresh, REFRESH_MS);
  }
}

function tickUptimes() {
  for (const r of rows.values()) r.tr.children[3].textContent = uptimeText(r.info);
}

// ---- actions -------------------------------------------------------------------------------------

const NOT_RUNNING = 70;
const ALREADY_STARTED = 60;

async function stopIgnoringIdle(ns) {
  try { await rpc('supervisor.stopProcess', ns, true); } catch (e) {
    if (!(e instanceof Fault && e.code === NOT_RUNNING)) throw e;
  }
}

const actions = {
  async start(ns) {
    try { await rpc('supervisor.startProcess', ns, true); } catch (e) {
      if (!(e instanceof Fault && e.code === ALREADY_STARTED)) throw e;
    }
    return ns + ' started';
  },
  async stop(ns) { await rpc('supervisor.stopProcess', ns, true); return ns + ' stopped'; },
  async restart(ns) {
    await stopIgnoringIdle(ns);
    await rpc('supervisor.startProcess', ns, true);
    return ns + ' restarted';
  },
  async clear(ns) {
    await rpc('supervisor.clearProcessLogs', ns);
    if (tail.target === ns) setTailText('');
    return 'log of ' + ns + ' cleared';
  },
};

async function run(what, fn, tr) {
  if (tr) { tr.classList.add('busy'); const r = rows.get(tr.dataset.name); if (r) paintRow(r); }
  show(what + '…');
  try {
    show(await fn());
  } catch (e) {
    show(what + ' failed: ' + e.message, true);
  } finally {
    if (tr) tr.classList.remove('busy');
    await refresh();
  }
}

function failures(results) {
  const bad = (results || []).filter((r) => r.status !== 80);
  return bad.map((r) => namespec(r) + ': ' + r.description).join('; ');
}

async function allAction(label, methods) {
  await run(label, async () => {
    const problems = [];
    for (const m of methods) {
      const f = failures(await rpc(m, true));
      if (f) problems.push(f);
    }
    if (problems.length) throw new Error(problems.join('; '));
    return label + ': done';
  });
}

// ---- log tail ------------------------------------------------------------------------------------

const tail = { target: null, stream: 'stdout', ctrl: null, text: null };

function setTailText(s) {
  tail.text = document.createTextNode(s);
  $('tail-text').replaceChildren(tail.text);
}

function appendTail(s) {
  if (!s) return;
  const pre = $('tail-text');
  tail.text.appendData(s);
  const over = tail.text.length - TAIL_MAX_CHARS;
  if (over > 0) {
    const nl = tail.text.data.indexOf('\n', over);
    tail.text.deleteData(0, nl < 0 ? over : nl + 1);
  }
  if ($('tail-follow').checked) pre.scrollTop = pre.scrollHeight;
}

function closeTail() {
  if (tail.ctrl) tail.ctrl.abort();
  tail.ctrl = null;
  tail.target = null;
  $('tail').hidden = true;
  for (const r of rows.values()) r.tr.classList.remove('selected');
}

async function openTail(target, stream) {
  if (tail.ctrl) tail.ctrl.abort();
  const ctrl = new AbortController();
  Object.assign(tail, { target, stream, ctrl });
  const main = target === null;
  $('tail').hidden = false;
  $('tail-title').textContent = main ? 'steward log' : target + ' — ' + stream;
  for (const b of [$('tail-stdout'), $('tail-stderr'), $('tail-clear')]) b.hidden = main;
  $('tail-stdout').classList.toggle('on', stream === 'stdout');
  $('tail-stderr').classList.toggle('on', stream === 'stderr');
  for (const r of rows.values()) r.tr.classList.toggle('selected', r.tr.dataset.name === target);
  setTailText('');
  const status = $('tail-status');
  status.textContent = 'connecting…';
  const path = main ? '/mainlogtail'
    : '/logtail/' + encodeURIComponent(target) + '/' + stream;
  try {
    const resp = await fetch(url(path), { signal: ctrl.signal, cache: 'no-store' });
    if (!resp.ok) {
      status.textContent = resp.status === 404 ? 'no log to follow (no log file)' :
        'HTTP ' + resp.status;
      return;
    }
    status.textContent = 'following';
    const reader = resp.body.getReader();
    const dec = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      appendTail(dec.decode(value, { stream: true }));
    }
    appendTail(dec.decode());
    if (tail.ctrl === ctrl) status.textContent = 'the log stream ended';
  } catch (e) {
    if (tail.ctrl === ctrl) status.textContent = 'stream broken: ' + e.message;
  }
}

// ---- wiring --------------------------------------------------------------------------------------

function init() {
  $('rows').addEventListener('click', (ev) => {
    const b = ev.target.closest('button');
    if (!b) return;
    const tr = b.closest('tr');
    const ns = tr.dataset.name;
    const act = b.dataset.act;
    if (act === 'tail') {
      openTail(ns, 'stdout');
      $('tail').scrollIntoView({ block: 'nearest', behavior: 'smooth' });
      return;
    }
    run(act[0].toUpperCase() + act.slice(1) + ' ' + ns, () => actions[act](ns), tr);
  });
  $('refresh').addEventListener('click', refresh);
  $('start-all').addEventListener('click',
    () => allAction('Start all', ['supervisor.startAllProcesses']));
  $('stop-all').addEventListener('click',
    () => allAction('Stop all', ['supervisor.stopAllProcesses']));
  $('restart-all').addEventListener('click', () => allAction('Restart all',
    ['supervisor.stopAllProcesses', 'supervisor.startAllProcesses']));
  $('main-log').addEventListener('click', () => openTail(null, 'stdout'));
  $('tail-stdout').addEventListener('click', () => openTail(tail.target, 'stdout'));
  $('tail-stderr').addEventListener('click', () => openTail(tail.target, 'stderr'));
  $('tail-close').addEventListener('click', closeTail);
  $('tail-clear').addEventListener('click', () => {
    const ns = tail.target;
    if (ns) run('Clear log of ' + ns, () => actions.clear(ns), rows.get(ns)?.tr);
  });
  $('tail-follow').addEventListener('change', () => {
    if ($('tail-follow').checked) $('tail-text').scrollTop = $('tail-text').scrollHeight;
  });
  $('filter').addEventListener('input', () => { for (const r of rows.values()) applyFilter(r.tr); });
  document.addEventListener('visibilitychange', () => { if (!document.hidden) refresh(); });
  setInterval(tickUptimes, 1000);
  Promise.all([rpc('supervisor.getIdentification'), rpc('supervisor.getState')]).then(([id, st]) => {
    $('ident').textContent = id;
    document.title = id + ' · steward';
    $('footer').textContent = 'steward · supervisor ' + st.statename;
  }).catch(() => {});
  refresh();
}

document.addEventListener('DOMContentLoaded', init);
