/* flamekit report page: wires the flame graph (flamegraph.js) to the report's sections.
 *
 * Reads {"payload": <flame graph payload>, "report": {...}} from #flamekit-data
 * (built by flamekit/render/html.py build_report_data). All text goes through
 * textContent / option.text / canvas fillText. Sets window.flamekitState =
 * {ready: true, graph, allocGraph, drawMs} when the first drawing is done.
 */
(function () {
  'use strict';
  var fk = window.flamekit, el = fk.el, fmt = fk.fmt;
  window.flamekitState = {ready: false};
  var t0 = performance.now();
  var data = JSON.parse(document.getElementById('flamekit-data').textContent);
  var P = data.payload, R = data.report, S = P.strings;
  var typeName = P.types.name.map(function (k) { return S[k]; });
  var typeUnit = P.types.unit.map(function (k) { return S[k]; });
  function $(id) { return document.getElementById(id); }
  function clear(n) { while (n.firstChild) n.removeChild(n.firstChild); }
  function pct(v) { return (v || 0).toFixed(2) + '%'; }
  /* a share with its 95 % interval, as flamekit/analysis/uncertainty.py computes it (Wilson score
   * interval for n effective samples, shown as its larger distance from the share, in points) */
  function pctPm(v, n) {
    if (!(n > 0)) return pct(v);
    var s = Math.min(Math.max((v || 0) / 100, 0), 1), z = 1.959963984540054, z2 = z * z;
    var d = 1 + z2 / n, c = (s + z2 / (2 * n)) / d, h = z / d * Math.sqrt(s * (1 - s) / n + z2 / (4 * n * n));
    return pct(v) + ' ±' + (100 * Math.max(s - Math.max(0, c - h), Math.min(1, c + h) - s, 0)).toFixed(1);
  }
  function row(cells, tag) {
    var tr = el('tr');
    cells.forEach(function (c) {
      var td = el(tag || 'td', c.cls || null, c.text !== undefined ? c.text : c);
      if (c.title) td.title = c.title;
      tr.appendChild(td);
    });
    return tr;
  }

  /* summary line */
  var parts = [R.nSamples + ' sample rows'];
  R.totals.forEach(function (v, i) {
    // a recording's time says how much of the run it covers ("1.40 s active of 5.0 s recorded")
    parts.push(typeName[i] + ': ' + (R.coverage && R.coverage.type === i ? R.coverage.text : fmt(v, typeUnit[i])));
  });
  parts.push(P.threads.id.length + ' thread' + (P.threads.id.length === 1 ? '' : 's'));
  if (R.warningCount) parts.push(R.warningCount + ' import warning' + (R.warningCount === 1 ? '' : 's'));
  $('fk-summary').textContent = parts.join(' · ');
  /* how many samples the shares rest on, and whether that is enough to rank the top functions */
  var n0 = (R.effectiveSamples || [])[P.defaultType || 0], sn = el('p', 'fk-note');
  sn.id = 'fk-samples';
  sn.textContent = 'Shares rest on ' + Math.round(n0 || 0).toLocaleString('en-US') + ' samples of ' +
    typeName[P.defaultType || 0] + '; ± is the 95% interval.' + ((R.rankable || [])[P.defaultType || 0] === false
      ? ' Too few samples to rank the top functions: the first two are within each other\'s interval ' +
        '(record longer or at a higher rate).' : '');
  $('fk-summary').parentNode.insertBefore(sn, $('fk-summary').nextSibling);
  if (P.pruned.nodes > 0) {
    var pn = $('fk-pruned');
    pn.hidden = false;
    pn.textContent = 'Pruned ' + P.pruned.nodes + ' call-tree nodes narrower than ' +
      (100 * P.pruned.fraction).toPrecision(2) + '% of the total into "[other]" nodes (' +
      P.pruned.share.map(function (s, i) { return (100 * s).toFixed(3) + '% of ' + typeName[i]; }).join(', ') + ').';
  }

  /* functions table, computed from the payload for the graph's type and thread */
  var sortKey = 'self', sortDir = -1;
  function functionRows(g) {
    var D = g.data, v = g.view, n = D.n, acc = {}, list = [], i;
    var stackOf = {};
    for (i = 0; i < n; i++) {
      var f = D.frame[i], fn = D.func[f], q = D.parent[i];
      var r = acc[fn];
      if (!r) { r = acc[fn] = {func: fn, name: D.names[f], file: D.files[f], self: 0, total: 0}; list.push(r); }
      r.self += v.self[i];
      // recursion counts once: add total only at the outermost occurrence on each path
      var key = fn + 1, anc = q >= 0 ? stackOf[q] : null;
      var nested = false;
      for (var a = anc; a; a = a.up) if (a.fn === key) { nested = true; break; }
      if (!nested) r.total += v.total[i];
      stackOf[i] = {fn: key, up: anc, depth: anc ? anc.depth + 1 : 0};
      if (stackOf[i].depth > 200) stackOf[i] = {fn: key, up: null, depth: 0};
    }
    var gt = g.grand || 0;
    return list.filter(function (r) { return r.self !== 0 || r.total !== 0; }).map(function (r) {
      r.selfPct = gt ? 100 * r.self / gt : 0; r.totalPct = gt ? 100 * r.total / gt : 0; return r;
    });
  }

  var funcCache = null;
  function renderFunctions(g) {
    if (!funcCache || funcCache.g !== g.type + ':' + g.thread + ':' + g.showBase) {
      funcCache = {g: g.type + ':' + g.thread + ':' + g.showBase, rows: functionRows(g)};
    }
    var q = $('fk-func-filter').value.toLowerCase(), unit = g.unit();
    var rows = funcCache.rows.filter(function (r) {
      return !q || r.name.toLowerCase().indexOf(q) >= 0 || r.file.toLowerCase().indexOf(q) >= 0;
    });
    rows.sort(function (a, b) {
      var x = a[sortKey], y = b[sortKey];
      var c = typeof x === 'string' ? (x < y ? -1 : x > y ? 1 : 0) : x - y;
      return c * sortDir || (b.self - a.self) || a.func - b.func;
    });
    var body = $('fk-functions').tBodies[0], shown = rows.slice(0, 500);
    // effective samples of the shown thread(s): the type's, in proportion to their share of the total
    var all = R.totals[g.type] || 0, nf = (R.effectiveSamples || [])[g.type] * (all ? (g.grand || 0) / all : 0);
    clear(body);
    shown.forEach(function (r) {
      body.appendChild(row([{text: r.name || '(empty name)', cls: 'fk-fn'}, {text: r.file, cls: 'fk-file'},
        {text: fmt(r.self, unit), cls: 'fk-num'}, {text: pctPm(r.selfPct, nf), cls: 'fk-num'},
        {text: fmt(r.total, unit), cls: 'fk-num'}, {text: pctPm(r.totalPct, nf), cls: 'fk-num'}]));
    });
    $('fk-func-count').textContent = rows.length + ' of ' + funcCache.rows.length + ' functions' +
      (rows.length > shown.length ? ' (first ' + shown.length + ' shown)' : '');
    var ths = $('fk-functions').tHead.rows[0].cells;
    for (var i = 0; i < ths.length; i++) {
      var k = ths[i].getAttribute('data-key');
      ths[i].classList.toggle('fk-sorted', k === sortKey);
      ths[i].setAttribute('aria-sort', k === sortKey ? (sortDir < 0 ? 'descending' : 'ascending') : 'none');
    }
  }

  function renderHotspots(g) {
    var k = g.widthType(), rows = R.hotspots[k] || [], body = $('fk-hotspots').tBodies[0], unit = typeUnit[k];
    $('fk-hotspots-type').textContent = 'by self ' + typeName[k] + ' (all threads)' +
      (R.hotspotsExact ? '' : '; computed on the pruned tree: values can be low by up to the pruned share');
    clear(body);
    rows.forEach(function (h, i) {
      var tr = row([String(i + 1), {text: h.name || '(empty name)', cls: 'fk-fn'},
        {text: h.file ? h.file + (h.line ? ':' + h.line : '') : '', cls: 'fk-file'},
        {text: fmt(h.self, unit), cls: 'fk-num'},
        {text: pct(h.selfPct) + (h.selfPm !== undefined ? ' ±' + h.selfPm.toFixed(1) : ''), cls: 'fk-num'},
        {text: pct(h.totalPct) + (h.totalPm !== undefined ? ' ±' + h.totalPm.toFixed(1) : ''), cls: 'fk-num'}]);
      var td = el('td', 'fk-path'), det = el('details'), sum = el('summary', null, h.path.length + (h.pathCut || 0) + ' frames');
      det.appendChild(sum);
      var ol = el('ol', 'fk-pathlist');
      if (h.pathCut) ol.appendChild(el('li', 'fk-none', '… ' + h.pathCut + ' outer frames'));
      h.path.forEach(function (n) { ol.appendChild(el('li', null, n || '(empty name)')); });
      det.appendChild(ol); td.appendChild(det); tr.appendChild(td);
      body.appendChild(tr);
    });
    if (!rows.length) body.appendChild(row(['', 'no samples', '', '', '', '', '']));
  }

  function update(g) { renderHotspots(g); renderFunctions(g); }

  var graph = fk.render($('fk-graph'), P, {id: 'fk', onChange: update});
  update(graph);
  $('fk-func-filter').addEventListener('input', function () { renderFunctions(graph); });
  var ths = $('fk-functions').tHead.rows[0].cells;
  Array.prototype.forEach.call(ths, function (th) {
    th.addEventListener('click', function () {
      var k = th.getAttribute('data-key');
      if (k === sortKey) sortDir = -sortDir; else { sortKey = k; sortDir = (k === 'name' || k === 'file') ? 1 : -1; }
      renderFunctions(graph);
    });
  });

  /* line charts (memory over time, CPU %, RSS) on canvas */
  function chart(canvas, xs, ys, unit, color) {
    var w = Math.max(300, Math.floor(canvas.parentNode.getBoundingClientRect().width) - 36), h = 160, dpr = window.devicePixelRatio || 1;
    canvas.style.width = w + 'px'; canvas.style.height = h + 'px';
    canvas.width = w * dpr; canvas.height = h * dpr;
    var c = canvas.getContext('2d');
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.font = '11px system-ui, sans-serif';
    var L = 70, B = 22, T = 8, x0 = xs[0], x1 = xs[xs.length - 1], ymax = 0, i;
    for (i = 0; i < ys.length; i++) if (ys[i] > ymax) ymax = ys[i];
    if (!(ymax > 0)) ymax = 1;
    if (!(x1 > x0)) x1 = x0 + 1;
    c.strokeStyle = '#c9ccd1'; c.fillStyle = '#555';
    c.beginPath(); c.moveTo(L, T); c.lineTo(L, h - B); c.lineTo(w - 4, h - B); c.stroke();
    c.textBaseline = 'middle';
    c.fillText(fmt(ymax, unit), 4, T + 4); c.fillText(fmt(0, unit), 4, h - B);
    c.textBaseline = 'top';
    c.fillText('0 s', L, h - B + 6);
    var end = (x1 - x0).toFixed(1) + ' s';
    c.fillText(end, w - 6 - c.measureText(end).width, h - B + 6);
    c.strokeStyle = color; c.lineWidth = 1.5; c.beginPath();
    for (i = 0; i < xs.length; i++) {
      var px = L + (xs[i] - x0) / (x1 - x0) * (w - L - 6), py = (h - B) - Math.max(0, ys[i]) / ymax * (h - B - T);
      if (i) c.lineTo(px, py); else c.moveTo(px, py);
    }
    c.stroke();
  }

  /* allocations */
  var allocGraph = null;
  if (R.alloc) {
    $('allocations').hidden = false; $('fk-nav-alloc').hidden = false;
    var at = R.alloc.allocType, ai = typeName.map(function (n, i) { return n + '/' + typeUnit[i]; }).indexOf(at);
    var au = ai >= 0 ? typeUnit[ai] : '', pu = au;
    var ab = $('fk-alloc-sites').tBodies[0];
    R.alloc.rows.forEach(function (r) {
      ab.appendChild(row([{text: r.name || '(empty name)', cls: 'fk-fn'},
        {text: r.file ? r.file + (r.line ? ':' + r.line : '') : '', cls: 'fk-file'},
        {text: fmt(r.alloc, au), cls: 'fk-num'}, {text: pct(r.allocPct), cls: 'fk-num'},
        {text: r.peak === null ? '–' : fmt(r.peak, pu), cls: 'fk-num'},
        {text: r.count === null ? '–' : fmt(r.count, 'count'), cls: 'fk-num'}]));
    });
    var gt = R.alloc.graphType || at, gi = typeName.map(function (n, i) { return n + '/' + typeUnit[i]; }).indexOf(gt);
    if (gi >= 0) {
      $('fk-alloc-graph-type').textContent = 'by ' + gt;
      allocGraph = fk.render($('fk-alloc-graph'), P, {id: 'fkmem', type: gi, fixedType: true,
                                                       sandwich: false, keyboard: false});
    }
    var tl = R.alloc.timeline;
    if (tl && tl.time.length > 1) {
      $('fk-memory-wrap').hidden = false;
      chart($('fk-memory-chart'), tl.time, tl.value, tl.unit || 'megabytes', '#8a3ffc');
    }
  }
  var M = R.memory && R.memory.time.length > 1 ? R.memory : null;  /* memray's snapshots */
  if ((R.resources && R.resources.time.length > 1) || M) {
    $('resources').hidden = false; $('fk-nav-resources').hidden = false;
    if (R.resources && R.resources.time.length > 1) {
      chart($('fk-cpu-chart'), R.resources.time, R.resources.cpu_percent, '%', '#d9480f');
      chart($('fk-rss-chart'), R.resources.time, R.resources.rss_bytes, 'bytes', '#1971c2');
    } else {  /* a capture read directly: memray's own RSS samples, no CPU timeline */
      $('fk-cpu-wrap').hidden = true;
      chart($('fk-rss-chart'), M.time, M.rss_bytes, 'bytes', '#1971c2');
    }
    if (M) {
      $('fk-heap-wrap').hidden = false;
      chart($('fk-heap-chart'), M.time, M.heap_bytes, 'bytes', '#8a3ffc');
    }
  }

  /* reproducibility */
  var LABELS = {flamekit_version: 'flamekit version', tool: 'Recorded with', tool_version: 'Tool version',
    command: 'Command', pid: 'PID', host: 'Host', cpu_model: 'CPU model', python_version: 'Python version',
    rate_hz: 'Sampling rate (Hz)', duration_s: 'Duration (s)', sample_count: 'Samples taken',
    lost_samples: 'Lost samples', errors: 'Errored samples', start_time: 'Start time',
    git_commit: 'Git commit', exit_code: 'Target exit code', format: 'Input format', merged_from: 'Merged profiles'};
  var rb = $('fk-repro').tBodies[0];
  R.meta.forEach(function (kv) {
    var tr = row([{text: LABELS[kv[0]] || kv[0]}, {text: kv[1], cls: 'fk-mono'}], 'td');
    tr.firstChild.className = 'fk-key';
    tr.setAttribute('data-key', kv[0]);
    rb.appendChild(tr);
  });
  if (R.warnings.length) {
    var wd = $('fk-warnings');
    wd.appendChild(el('h3', null, 'Import warnings (' + R.warningCount + ')'));
    var ul = el('ul', 'fk-mono');
    R.warnings.forEach(function (w) { ul.appendChild(el('li', null, w)); });
    wd.appendChild(ul);
  }

  /* exports */
  function baseName() { return 'flamekit-profile'; }
  function exporting(name, mime, make) {
    return function () {
      var text;
      try { text = make(); } catch (e) { this.title = String(e.message || e); this.classList.add('fk-failed'); return; }
      fk.download(baseName() + name, mime, text);
    };
  }
  var flamekitVersion = (R.meta[0] || [])[1];
  $('fk-export-speedscope').addEventListener('click', exporting('.speedscope.json', 'application/json',
    function () { return fk.exportSpeedscope(P, graph.widthType(), 'flamekit@' + flamekitVersion); }));
  $('fk-export-folded').addEventListener('click', exporting('.folded', 'text/plain',
    function () { return fk.exportFolded(P, graph.widthType(), graph.thread); }));

  window.flamekitState = {ready: true, graph: graph, allocGraph: allocGraph, drawMs: performance.now() - t0};
})();
