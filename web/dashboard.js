// gpu-watcher dashboard: reads /api/status and /api/history and redraws every 10 s; /api/insights every minute.
// With http.token set, open the page as /#token=<token> (the fragment never reaches the server).
(() => {
  'use strict';
  const STOCK = { None: 0, Low: 1, Medium: 2, High: 3 };
  const BAND = ['rgba(248,81,73,.16)', 'rgba(210,153,34,.22)', 'rgba(88,166,255,.18)', 'rgba(63,185,80,.22)'];
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) sessionStorage.setItem('gpu-watcher-token', fromHash);
  const token = sessionStorage.getItem('gpu-watcher-token');
  const charts = [];

  const $ = (selector) => document.querySelector(selector);
  // The server's one money format (usd in src/lib/format.ts): two decimals, three when the price has a third.
  const money = (n) => (n === null || n === undefined ? '–' : `$${n.toFixed(3).replace(/0$/, '')}`);
  const time = (iso) => (iso ? new Date(iso).toLocaleString() : '–');
  const cell = (text, className) => {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    return td;
  };
  const pill = (text, className) => {
    const td = document.createElement('td');
    const span = document.createElement('span');
    span.className = `pill ${className}`;
    span.textContent = text;
    td.append(span);
    return td;
  };
  const fill = (selector, rows, empty) => {
    const body = $(`${selector} tbody`);
    // Each cell carries its column's name: on a narrow screen a row collapses into labelled lines.
    const labels = [...$(`${selector} thead tr`).children].map((th) => th.textContent);
    for (const tr of rows) [...tr.children].forEach((td, i) => (td.dataset.label = labels[i] ?? ''));
    body.replaceChildren(...rows);
    if (rows.length === 0) {
      const tr = document.createElement('tr');
      const td = cell(empty, 'empty');
      td.colSpan = $(`${selector} thead tr`).children.length;
      tr.append(td);
      body.append(tr);
    }
  };
  const row = (...cells) => {
    const tr = document.createElement('tr');
    tr.append(...cells);
    return tr;
  };

  async function api(path) {
    const response = await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}${response.status === 401 ? ' (open the page as /#token=…)' : ''}`);
    return response.json();
  }

  /** Points for one key: each interval is a flat step from first to last seen. */
  function seriesOf(intervals) {
    const xs = [];
    const od = [];
    const bid = [];
    for (const i of intervals) {
      const from = Date.parse(i.firstSeen) / 1000;
      const to = Date.parse(i.lastSeen) / 1000;
      for (const x of to > from ? [from, to] : [from]) {
        xs.push(x);
        od.push(i.onDemandPrice);
        bid.push(i.minBidPrice);
      }
    }
    return [xs, od, bid];
  }

  /** Paints each interval's stock level as a band behind the lines. */
  function stockBands(intervals) {
    return (u) => {
      const { ctx } = u;
      const { top, height } = u.bbox;
      ctx.save();
      intervals.forEach((interval, index) => {
        const next = intervals[index + 1];
        const from = Date.parse(interval.firstSeen) / 1000;
        const to = next ? Math.min(Date.parse(next.firstSeen) / 1000, Date.parse(interval.lastSeen) / 1000 + 30) : Date.parse(interval.lastSeen) / 1000;
        const x0 = u.valToPos(from, 'x', true);
        const x1 = Math.max(x0 + 1, u.valToPos(to, 'x', true));
        ctx.fillStyle = BAND[STOCK[interval.stock] ?? 0];
        ctx.fillRect(x0, top, x1 - x0, height);
      });
      ctx.restore();
    };
  }

  /** The window the selector shows, in seconds. */
  const WINDOW_S = { '6h': 6 * 3600, '24h': 24 * 3600, '7d': 7 * 86400 };

  /** Draws a chart per key over the selected window, ending at the server's `now` (seconds). */
  function drawCharts(history, now) {
    for (const chart of charts.splice(0)) chart.destroy();
    const byKey = new Map();
    for (const interval of history.intervals) {
      // The server's readable label: a rule's filtered stock (`... · CUDA 12.8 · EU-RO-1`) charts apart from the type's whole stock.
      const id = interval.label;
      if (!byKey.has(id)) byKey.set(id, []);
      byKey.get(id).push(interval);
    }
    const container = $('#charts');
    container.replaceChildren();
    if (byKey.size === 0) {
      container.textContent = 'No history in this window yet.';
      return;
    }
    // Every box goes in first, so each is measured at its final grid width before its chart is drawn.
    const fleet = new Map((history.fleet ?? []).map((f) => [f.label, f.intervals.at(-1)]));
    const boxes = [...byKey].map(([id, intervals]) => {
      const box = document.createElement('div');
      box.className = 'chart';
      const title = document.createElement('h3');
      title.textContent = `${id}${fleetRange(fleet.get(id))}`;
      box.append(title);
      container.append(box);
      return { id, intervals, box };
    });
    // The time axis is the window the selector names, whatever part of it has data.
    const xRange = [now - WINDOW_S[$('#range').value], now];
    for (const { id, intervals, box } of boxes) {
      const data = seriesOf(intervals);
      box.dataset.key = id;
      box.dataset.points = String(data[0].length);
      const stepped = uPlot.paths.stepped({ align: 1 });
      charts.push(
        new uPlot(
          {
            width: Math.max(200, box.clientWidth),
            height: 200,
            scales: { x: { time: true, range: () => xRange } },
            series: [
              {},
              { label: 'on-demand', stroke: '#58a6ff', width: 2, paths: stepped, value: (_, v) => money(v) },
              { label: 'min bid', stroke: '#d2a8ff', width: 2, paths: stepped, value: (_, v) => money(v) },
            ],
            axes: [
              { stroke: '#8b98a5', grid: { stroke: '#263240' } },
              { stroke: '#8b98a5', grid: { stroke: '#263240' }, values: (_, ticks) => ticks.map(money) },
            ],
            hooks: {
              drawClear: [stockBands(intervals)],
              // The axis the chart settled on, for the browser test to read.
              setScale: [
                (u, key) => {
                  if (key !== 'x') return;
                  box.dataset.xMin = String(u.scales.x.min);
                  box.dataset.xMax = String(u.scales.x.max);
                },
              ],
            },
          },
          data,
          box,
        ),
      );
    }
  }

  /** RunPod's fleet figures in words: "34 of 40 rented" says more than a stock word. */
  function fleetWords(fleet) {
    if (!fleet) return '–';
    const { rentedCount: rented, totalCount: total, rentalPercentage: share } = fleet;
    if (rented !== null && total !== null) return `${rented} of ${total} rented`;
    if (rented !== null) return `${rented} rented`;
    if (share !== null) return `${share}% rented`;
    return total !== null ? `${total} in the fleet` : '–';
  }

  /** The latest fleet interval of a key, in words: its range over the stretch ("33–35 of 40 rented"). */
  function fleetRange(interval) {
    if (!interval || interval.rentedMin === null) return '';
    const rented = interval.rentedMin === interval.rentedMax ? `${interval.rentedMin}` : `${interval.rentedMin}–${interval.rentedMax}`;
    return interval.totalCount === null ? ` · ${rented} rented` : ` · ${rented} of ${interval.totalCount} rented`;
  }

  const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const pct = (share) => `${Math.round(share * 100)}%`;
  const span = (ms) => (ms < 3_600_000 ? `${Math.max(1, Math.round(ms / 60_000))} min` : `${(ms / 3_600_000).toFixed(1)} h`);

  /** One line on when the key comes back: the chances given the time out now, or why there are none. */
  function backWithinLine(k) {
    const b = k.backWithin;
    const now = k.now ? (k.now.deployable ? 'deployable now' : `out for ${k.now.forAtLeast ? 'at least ' : ''}${span(k.now.forMs)}`) : 'no recent poll';
    if (!b.chances) return `${now} · back within: too few outages to judge (${b.sample})`;
    const typical = k.outages.p50Ms === null ? '' : ` · outages p50 ${span(k.outages.p50Ms)}, p90 ${span(k.outages.p90Ms)}`;
    return `${now} · back within 15 min ${pct(b.chances['15m'])}, 1 h ${pct(b.chances['1h'])}, 6 h ${pct(b.chances['6h'])} (of ${b.sample} outages)${typical}`;
  }

  /** A 7 × 24 table whose cells are shaded by the deployable share (dashed: nothing recorded). */
  function heatmap(k) {
    const table = document.createElement('table');
    table.className = 'heatmap';
    const head = row(cell('', 'label'), ...Array.from({ length: 24 }, (_, h) => cell(h % 3 === 0 ? String(h) : '', 'label')));
    table.append(head);
    k.hourOfWeek.days.forEach((day, d) => {
      const cells = k.hourOfWeek.share[d].map((share, h) => {
        const td = cell('');
        td.title = `${day} ${String(h).padStart(2, '0')}:00 ${share === null ? 'not recorded' : `${pct(share)} deployable`}`;
        if (share === null) td.className = 'none';
        else td.style.background = `rgba(63,185,80,${(0.1 + share * 0.9).toFixed(2)})`;
        return td;
      });
      table.append(row(cell(day, 'label'), ...cells));
    });
    return table;
  }

  function drawInsights(answer) {
    $('#zone').textContent = answer.timeZone;
    const boxes = answer.keys.map((k) => {
      const box = document.createElement('div');
      box.className = 'insight';
      box.dataset.key = k.keyId;
      const title = document.createElement('h3');
      title.textContent = `${k.label} · deployable ${k.deployableShare === null ? '–' : pct(k.deployableShare)} (at ${k.deployableAt}+)`;
      const line = document.createElement('p');
      line.className = 'back-within';
      line.textContent = backWithinLine(k);
      box.append(title, line, heatmap(k));
      return box;
    });
    $('#insights').replaceChildren(...boxes);
    if (boxes.length === 0) $('#insights').textContent = 'No history in the last 30 days yet.';
  }

  /** Adjacent events of one alert (fired, reminder, resolved) this many times or more are a flapping alert: one line. */
  const FLAPPING_AT = 3;

  /** The events, newest first, with each run of one alert's adjacent events as one group. */
  function groupAlerts(events) {
    const groups = [];
    for (const event of events) {
      const last = groups.at(-1);
      if (event.alert && last?.[0].alert === event.alert) last.push(event);
      else groups.push([event]);
    }
    return groups;
  }

  function eventLine(when, typeText, text) {
    const li = document.createElement('li');
    const stamp = document.createElement('time');
    stamp.textContent = when;
    const type = document.createElement('span');
    type.className = 'type';
    type.textContent = typeText;
    li.append(stamp, type, document.createTextNode(text));
    return li;
  }

  /** The recent events; a flapping alert is folded into one line with its counts. */
  function eventLines(events) {
    return groupAlerts(events).flatMap((group) => {
      if (group.length < FLAPPING_AT) return group.map((e) => eventLine(time(e.time), e.type, e.summary));
      const count = (type) => group.filter((e) => e.type === type).length;
      const li = eventLine(time(group[0].time), `${group[0].alert} flapping`, `fired ${count('alert.fired')}×, resolved ${count('alert.resolved')}× since ${time(group.at(-1).time)}; latest ${group[0].type}: ${group[0].summary}`);
      li.className = 'flapping';
      li.dataset.count = String(group.length);
      return [li];
    });
  }

  function render(status, history) {
    const health = $('#health');
    const source = status.api.source === 'rest' ? 'REST v2' : 'GraphQL';
    health.textContent = status.api.down ? `RunPod ${source} down since ${time(status.api.downSince)}` : `RunPod ${source} ok`;
    health.className = `pill ${status.api.down ? 'bad' : 'ok'}`;
    const poll = status.lastPoll ? `last poll ${status.lastPoll.outcome} ${time(status.lastPoll.at)}` : 'no poll yet';
    $('#meta').textContent = `${poll} · undelivered ${status.undelivered.pending} pending, ${status.undelivered.failed} given up${status.live.dryRun ? ' · DRY RUN' : ''}`;

    fill(
      '#snapshot',
      status.live.snapshot.map((s) =>
        row(cell(s.machine ? `${s.gpu} · ${s.machine}` : s.gpu), cell(String(s.gpuCount), 'num'), cell(s.cloud), pill(s.stock, `stock-${s.stock}`), cell(fleetWords(s.fleet)), cell(money(s.onDemandPrice), 'num'), cell(money(s.minBidPrice), 'num'), cell(s.availableGpuCounts?.join(', ') || '–')),
      ),
      'No poll has answered yet.',
    );
    fill(
      '#rules',
      status.rules.map((r) =>
        row(cell(r.name), cell(`${r.pods} / ${r.maxPods}`, 'num'), cell(`${r.deploys}${r.maxDeploys === null ? '' : ` / ${r.maxDeploys}`}`, 'num'), cell(money(r.spent), 'num'), cell(r.blocked ? `blocked: ${r.blocked}` : r.last ? `${r.last.outcome}: ${r.last.detail}` : 'not evaluated yet')),
      ),
      'No rules in the config.',
    );
    const spend = status.spend;
    const limits = spend.maxSpend ? ` · budget.maxSpend ${[spend.maxSpend.day === null ? '' : `${money(spend.maxSpend.day)}/day`, spend.maxSpend.month === null ? '' : `${money(spend.maxSpend.month)}/month`].filter(Boolean).join(', ')}` : '';
    $('#spend').textContent = `Spent ${money(spend.today)} today, ${money(spend.thisMonth)} this month (UTC), ${money(spend.total)} in all${limits}`;
    fill(
      '#alerts',
      status.alerts.map((a) => row(cell(a.name), pill(a.firing ? 'firing' : 'quiet', a.firing ? 'warn' : ''), cell(a.firing ? time(a.firedAt) : '–'))),
      'No alerts in the config.',
    );
    fill(
      '#pods',
      (status.livePods?.pods ?? []).map((p) => row(cell(`${p.name} (${p.id})`), cell(`${p.gpuDisplayName ?? p.gpuTypeId ?? '?'} x${p.gpuCount}`), cell(p.kind), cell(money(p.costPerHr), 'num'), cell(money(spend.pods.find((a) => a.podId === p.id)?.dollars ?? 0), 'num'), cell(p.watcher?.rule ?? 'resume'))),
      'No live watcher pods.',
    );
    $('#events').replaceChildren(...eventLines(status.recentEvents));
    drawCharts(history, Date.parse(status.now) / 1000);
  }

  let insightsAt = 0;
  async function refresh() {
    try {
      const [status, history] = await Promise.all([api('/api/status'), api(`/api/history?since=${$('#range').value}`)]);
      render(status, history);
      // The insights read 30 days of history: once a minute is plenty.
      if (Date.now() - insightsAt >= 60_000) {
        drawInsights(await api(`/api/insights?since=30d&tz=${encodeURIComponent(ZONE)}`));
        insightsAt = Date.now();
      }
      document.body.dataset.ready = 'true';
      document.body.dataset.refreshedAt = new Date().toISOString();
    } catch (error) {
      const health = $('#health');
      health.textContent = String(error.message ?? error);
      health.className = 'pill bad';
    }
  }

  $('#range').addEventListener('change', refresh);
  refresh();
  setInterval(refresh, 10_000);
})();
