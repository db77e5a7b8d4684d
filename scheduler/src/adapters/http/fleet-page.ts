/**
 * The live fleet page the scheduler serves at `/fleet`: one self-contained document (inline CSS and
 * script, no framework, nothing fetched from elsewhere) that polls `/api/fleet` (a FleetSnapshot)
 * every second and redraws. Everything from the snapshot goes in through textContent and attributes,
 * never parsed as markup: node ids and cluster names are chosen by whoever runs the agents.
 * Elements carry `data-testid`s for tests. The script uses no backslashes, backticks or template
 * placeholders, so this TypeScript template literal holds it verbatim.
 */
export const FLEET_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchyard fleet</title>
<style>
:root { --fg: #1d232b; --muted: #66707c; --line: #d9dee4; --bg: #f5f7f9; --card: #fff;
  --ok: #2f9e44; --warn: #e8a400; --orange: #e8590c; --bad: #d6336c; --dead: #c92a2a; --off: #868e96; --drain: #7048e8; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; padding: 10px 18px; background: var(--card); border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 1; }
header h1 { font-size: 17px; margin: 0 8px 0 0; }
main { padding: 8px 18px 24px; }
h2 { font-size: 15px; margin: 18px 0 8px; }
.muted { color: var(--muted); }
.pill { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; background: var(--off); }
.leader-true { background: var(--ok); } .leader-false { background: var(--off); }
.conn-live { background: var(--ok); } .conn-connecting { background: var(--off); }
.conn-stale { background: var(--warn); } .conn-disconnected { background: var(--dead); }
body.stale main { opacity: 0.55; }
.stage-normal, .state-ready { background: var(--ok); } .stage-steer { background: var(--warn); }
.stage-defer { background: var(--orange); } .stage-cap, .state-dead { background: var(--dead); }
.state-suspect { background: var(--warn); } .state-cordoned { background: var(--off); }
.state-draining { background: var(--drain); } .state-anomalous { background: var(--bad); }
#clusters { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 10px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card-head { display: flex; justify-content: space-between; align-items: baseline; gap: 8px; }
.card-head b { font-size: 15px; overflow-wrap: anywhere; }
.bar { position: relative; height: 14px; margin: 10px 0 6px; background: #e9ecef; border-radius: 3px; }
.bar span { position: absolute; left: 0; top: 0; bottom: 0; border-radius: 3px; }
.bar .committed { background: #a5d8ff; } .bar .measured { background: #1c7ed6; }
.bar i { position: absolute; top: -4px; bottom: -4px; width: 2px; }
.bar .budget { background: var(--fg); } .bar .usable { border-left: 2px dashed var(--orange); width: 0; }
.counts { display: flex; gap: 4px; flex-wrap: wrap; margin-top: 6px; }
.row { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
table { border-collapse: collapse; background: var(--card); border: 1px solid var(--line); }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
th.sortable { cursor: pointer; user-select: none; }
th[aria-sort=ascending]::after { content: " ▲"; } th[aria-sort=descending]::after { content: " ▼"; }
#nodes-table { width: 100%; }
.models { white-space: normal; max-width: 320px; }
input[type=search] { padding: 4px 8px; border: 1px solid var(--line); border-radius: 4px; min-width: 240px; }
</style>
</head>
<body class="stale">
<header>
  <h1>Switchyard fleet</h1>
  <span>scheduler <b data-testid="scheduler-id">…</b></span>
  <span class="pill" data-testid="leader">…</span>
  <span class="muted">snapshot <span data-testid="snapshot-time">never</span></span>
  <span class="pill conn-connecting" data-testid="connection" data-state="connecting">connecting</span>
  <span class="muted" data-testid="connection-detail"></span>
</header>
<main>
  <h2>Clusters</h2>
  <div id="clusters" data-testid="clusters"></div>
  <div class="row">
    <div>
      <h2>Sessions</h2>
      <table><tbody>
        <tr><th>total</th><td class="num" data-testid="sessions-total">0</td></tr>
        <tr><th>open</th><td class="num" data-testid="sessions-open">0</td></tr>
        <tr><th>migrating</th><td class="num" data-testid="sessions-migrating">0</td></tr>
        <tr><th>closed</th><td class="num" data-testid="sessions-closed">0</td></tr>
        <tr><th>without a live owner</th><td class="num" data-testid="sessions-without-live-owner">0</td></tr>
      </tbody></table>
    </div>
    <div>
      <h2>Admission queues</h2>
      <table data-testid="queues">
        <thead><tr><th>SLO class</th><th class="num">queued</th><th class="num">waiting for capacity</th>
          <th class="num">placed</th><th class="num">queue limit</th><th class="num">concurrency</th><th class="num">oldest wait</th></tr></thead>
        <tbody id="queue-rows"></tbody>
      </table>
    </div>
  </div>
  <h2>Nodes: <span data-testid="node-count">0</span>
    <input type="search" id="node-filter" data-testid="node-filter" placeholder="filter by id, cluster, profile, state"></h2>
  <table id="nodes-table">
    <thead><tr id="node-head"></tr></thead>
    <tbody id="node-rows" data-testid="node-rows"></tbody>
  </table>
  <p class="muted" data-testid="nodes-more"></p>
</main>
<script>
'use strict';
(function () {
  const POLL_MS = 1000;
  const FETCH_TIMEOUT_MS = 2500;
  const STALE_AFTER_MS = 3500;
  const MAX_ROWS = 500;
  const NODE_STATES = ['dead', 'suspect', 'anomalous', 'draining', 'cordoned', 'ready'];
  const byTestId = (id) => document.querySelector('[data-testid="' + id + '"]');
  const dom = {
    schedulerId: byTestId('scheduler-id'), leader: byTestId('leader'), time: byTestId('snapshot-time'),
    connection: byTestId('connection'), detail: byTestId('connection-detail'), clusters: byTestId('clusters'),
    queues: document.getElementById('queue-rows'), nodeCount: byTestId('node-count'),
    head: document.getElementById('node-head'), rows: document.getElementById('node-rows'),
    more: byTestId('nodes-more'), filter: document.getElementById('node-filter'),
  };

  /** Builds an element; text always goes in as text. */
  function el(tag, className, text, testId) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (testId) node.setAttribute('data-testid', testId);
    return node;
  }
  function watts(w) {
    if (w === null || w === undefined) return 'none';
    return Math.abs(w) >= 10000 ? (w / 1000).toFixed(1) + ' kW' : Math.round(w) + ' W';
  }
  function hbmShare(n) { return n.hbmTotalBytes > 0 ? n.hbmUsedBytes / n.hbmTotalBytes : 0; }
  function compare(a, b) { return a < b ? -1 : a > b ? 1 : 0; }

  const COLUMNS = [
    { key: 'id', label: 'Node', value: (n) => n.nodeId },
    { key: 'cluster', label: 'Cluster', value: (n) => n.cluster },
    { key: 'profile', label: 'Profile', value: (n) => n.profile, text: (n) => n.profile + ' ×' + n.chips },
    { key: 'state', label: 'State', value: (n) => NODE_STATES.indexOf(n.state) },
    { key: 'load', label: 'Load / max batch', num: true,
      value: (n) => (n.maxBatchSize > 0 ? n.load / n.maxBatchSize : n.load), text: (n) => n.load + ' / ' + n.maxBatchSize },
    { key: 'queue', label: 'Queue', num: true, value: (n) => n.queueDepth },
    { key: 'power', label: 'Power / limit', num: true, value: (n) => n.powerDrawWatts,
      text: (n) => watts(n.powerDrawWatts) + ' / ' + watts(n.powerLimitWatts) },
    { key: 'hbm', label: 'HBM used', num: true, value: hbmShare, text: (n) => (100 * hbmShare(n)).toFixed(1) + ' %' },
    { key: 'models', label: 'Models', value: (n) => n.models.join(' '),
      text: (n) => n.models.concat(n.loadingModels.map((m) => m + ' (loading)')).join(', ') },
  ];
  const view = { sortKey: 'state', descending: false, filter: '', snapshot: null, lastOkMs: 0, connection: 'connecting' };

  function drawHead() {
    const cells = COLUMNS.map((column) => {
      const th = el('th', 'sortable' + (column.num ? ' num' : ''), column.label, 'sort-' + column.key);
      if (view.sortKey === column.key) th.setAttribute('aria-sort', view.descending ? 'descending' : 'ascending');
      th.addEventListener('click', () => {
        view.descending = view.sortKey === column.key ? !view.descending : false;
        view.sortKey = column.key;
        drawHead();
        drawNodes();
      });
      return th;
    });
    dom.head.replaceChildren(...cells);
  }

  function drawHeader(s) {
    dom.schedulerId.textContent = s.schedulerId;
    dom.leader.textContent = s.leader ? 'leader' : 'standby';
    dom.leader.className = 'pill leader-' + s.leader;
    dom.leader.setAttribute('data-leader', String(s.leader));
    dom.time.textContent = new Date(s.atMs).toISOString().slice(11, 19) + ' UTC';
    dom.time.setAttribute('data-at-ms', String(s.atMs));
  }

  function powerBar(c) {
    const bar = el('div', 'bar', null, 'cluster-bar');
    const scale = Math.max(c.budgetWatts || 0, c.committedWatts, c.measuredWatts, 1) * 1.08;
    const at = (w) => Math.min(100, (100 * w) / scale).toFixed(2) + '%';
    const committed = el('span', 'committed');
    committed.style.width = at(c.committedWatts);
    const measured = el('span', 'measured');
    measured.style.width = at(c.measuredWatts);
    bar.append(committed, measured);
    if (c.budgetWatts !== null) {
      const usable = el('i', 'usable');
      usable.style.left = at(c.usableWatts);
      usable.title = 'usable ' + watts(c.usableWatts);
      const budget = el('i', 'budget');
      budget.style.left = at(c.budgetWatts);
      budget.title = 'budget ' + watts(c.budgetWatts);
      bar.append(usable, budget);
    }
    bar.title = 'measured ' + watts(c.measuredWatts) + ', committed ' + watts(c.committedWatts);
    return bar;
  }

  function drawClusters(s) {
    const cards = s.clusters.map((c) => {
      const card = el('div', 'card', null, 'cluster-' + c.name);
      card.setAttribute('data-stage', c.stage);
      card.setAttribute('data-budget-watts', c.budgetWatts === null ? 'none' : String(c.budgetWatts));
      card.setAttribute('data-measured-watts', String(c.measuredWatts));
      const head = el('div', 'card-head');
      const title = el('div');
      title.append(el('b', null, c.name, 'cluster-name'), el('span', 'muted', c.location ? ' ' + c.location : ''));
      head.append(title, el('span', 'pill stage-' + c.stage, c.stage, 'cluster-stage'));
      const power = el('div', 'muted', null, 'cluster-power');
      power.textContent = 'measured ' + watts(c.measuredWatts) + ' · committed ' + watts(c.committedWatts) +
        (c.budgetWatts === null ? ' · no budget' : ' · budget ' + watts(c.budgetWatts) + ' (usable ' + watts(c.usableWatts) + ')');
      const counts = el('div', 'counts', null, 'cluster-nodes');
      counts.setAttribute('data-total', String(c.nodesTotal));
      counts.append(el('span', 'muted', c.nodesTotal + (c.nodesTotal === 1 ? ' node' : ' nodes')));
      for (const state of NODE_STATES) {
        if (c.nodes[state] > 0) counts.append(el('span', 'pill state-' + state, c.nodes[state] + ' ' + state, 'cluster-nodes-' + state));
      }
      card.append(head, powerBar(c), power, counts);
      return card;
    });
    if (cards.length === 0) cards.push(el('p', 'muted', 'No clusters known yet.'));
    dom.clusters.replaceChildren(...cards);
  }

  function drawSessionsAndQueues(s) {
    byTestId('sessions-total').textContent = String(s.sessions.total);
    for (const state of ['open', 'migrating', 'closed']) byTestId('sessions-' + state).textContent = String(s.sessions.byState[state]);
    byTestId('sessions-without-live-owner').textContent = String(s.sessions.withoutLiveOwner);
    if (s.queues === null) {
      const cell = el('td', 'muted', 'Standing by: admission runs on the leader.');
      cell.colSpan = 7;
      const row = el('tr', null, null, 'queues-standby');
      row.append(cell);
      dom.queues.replaceChildren(row);
      return;
    }
    dom.queues.replaceChildren(...s.queues.map((q) => {
      const row = el('tr', null, null, 'queue-' + q.sloClass);
      row.append(el('th', null, q.sloClass), el('td', 'num', q.queued, 'queue-queued'),
        el('td', 'num', q.waitingForCapacity, 'queue-waiting'), el('td', 'num', q.placed, 'queue-placed'),
        el('td', 'num', q.maxQueued, 'queue-limit'), el('td', 'num', q.concurrency, 'queue-concurrency'),
        el('td', 'num', (q.oldestWaitMs / 1000).toFixed(1) + ' s', 'queue-oldest-wait'));
      return row;
    }));
  }

  function drawNodes() {
    const s = view.snapshot;
    if (s === null) return;
    dom.nodeCount.textContent = String(s.nodesTotal);
    const needle = view.filter.trim().toLowerCase();
    const matching = needle === '' ? s.nodes.slice() : s.nodes.filter((n) =>
      [n.nodeId, n.cluster, n.profile, n.state].some((field) => field.toLowerCase().includes(needle)));
    const column = COLUMNS.find((c) => c.key === view.sortKey) || COLUMNS[0];
    const sign = view.descending ? -1 : 1;
    matching.sort((a, b) => sign * compare(column.value(a), column.value(b)) || compare(a.nodeId, b.nodeId));
    const shown = matching.slice(0, MAX_ROWS);
    const rows = document.createDocumentFragment();
    for (const n of shown) {
      const row = el('tr', null, null, 'node-row-' + n.nodeId);
      row.setAttribute('data-state', n.state);
      row.setAttribute('data-cluster', n.cluster);
      if (n.host) row.setAttribute('data-kubernetes-node', n.host.name);
      for (const c of COLUMNS) {
        const cell = el('td', c.num ? 'num' : c.key === 'models' ? 'models' : null, null, 'node-' + c.key);
        if (c.key === 'state') {
          cell.append(el('span', 'pill state-' + n.state, n.state));
          if (n.anomaly) cell.title = n.anomaly;
          else if (n.host && n.host.condition !== 'ready') cell.title = 'Kubernetes node ' + n.host.name + ': ' + n.host.condition;
        } else {
          cell.textContent = String(c.text ? c.text(n) : c.value(n));
        }
        row.append(cell);
      }
      rows.append(row);
    }
    dom.rows.replaceChildren(rows);
    const notes = [];
    if (matching.length > shown.length) notes.push((matching.length - shown.length) + ' more not shown (first ' + MAX_ROWS + ' rows)');
    if (s.nodesTotal > s.nodes.length) notes.push((s.nodesTotal - s.nodes.length) + ' more ready nodes not sent by the scheduler');
    if (needle !== '') notes.push(matching.length + ' of ' + s.nodes.length + ' listed nodes match the filter');
    dom.more.textContent = notes.join('; ');
    dom.more.setAttribute('data-hidden', String(matching.length - shown.length + s.nodesTotal - s.nodes.length));
  }

  function setConnection(state, detail) {
    view.connection = state;
    dom.connection.textContent = state === 'live' ? 'live' : state === 'stale' ? 'stale' : state;
    dom.connection.className = 'pill conn-' + state;
    dom.connection.setAttribute('data-state', state);
    dom.detail.textContent = detail;
    document.body.classList.toggle('stale', state !== 'live');
    document.title = (state === 'live' ? '' : '(' + state + ') ') + 'Switchyard fleet';
  }

  async function poll() {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
    try {
      const response = await fetch('/api/fleet', { cache: 'no-store', signal: controller.signal });
      if (!response.ok) throw new Error('HTTP ' + response.status);
      const snapshot = await response.json();
      if (snapshot === null || snapshot.v !== 1) throw new Error('unexpected snapshot version');
      view.snapshot = snapshot;
      view.lastOkMs = Date.now();
      drawHeader(snapshot);
      drawClusters(snapshot);
      drawSessionsAndQueues(snapshot);
      drawNodes();
      setConnection('live', '');
    } catch (err) {
      const reason = err && err.name === 'AbortError' ? 'no answer in ' + FETCH_TIMEOUT_MS / 1000 + ' s' : String(err && err.message || err);
      setConnection('disconnected', reason + (view.lastOkMs ? '; showing data from ' + Math.round((Date.now() - view.lastOkMs) / 1000) + ' s ago' : ''));
    } finally {
      clearTimeout(timer);
      setTimeout(poll, POLL_MS);
    }
  }

  // Timers in a background tab slow to a crawl: the data then ages without any poll failing.
  setInterval(() => {
    if (view.connection === 'live' && Date.now() - view.lastOkMs > STALE_AFTER_MS) {
      setConnection('stale', 'last answer ' + Math.round((Date.now() - view.lastOkMs) / 1000) + ' s ago');
    }
  }, 500);
  dom.filter.addEventListener('input', () => { view.filter = dom.filter.value; drawNodes(); });
  drawHead();
  void poll();
})();
</script>
</body>
</html>
`;
