/* flamekit report page: wires the flame graph (flamegraph.js) to the report's sections.
 *
 * Reads {"payload": <flame graph payload>, "report": {...}} from #flamekit-data
 * (built by flamekit/render/html.py report_json). With several inputs shown as labelled
 * roots, report.inputs holds one section per input (flamekit/render/report_sections.py)
 * and every panel lists every input by its label. All text goes through
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
  function clear(n) { n.textContent = ''; }
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

  /* one section per input: several inputs (labelled roots), or the report itself */
  var INPUTS = R.inputs || null, MULTI = !!INPUTS;
  var SECTIONS = INPUTS || [{label: '', meta: R.meta, busy: R.busy, hotspots: R.hotspots, totals: R.totals,
    effectiveSamples: R.effectiveSamples, rankable: R.rankable, nSamples: R.nSamples, coverage: R.coverage,
    resources: R.resources, memory: R.memory, memoryTimeline: R.alloc && R.alloc.timeline}];
  var PALETTE = ['#1971c2', '#d9480f', '#2f9e44', '#9c36b5', '#e67700', '#0c8599', '#c2255c', '#5c940d'];
  function colorOf(i) { return PALETTE[i % PALETTE.length]; }
  function swatch(color) { var s = el('span', 'fk-swatch'); s.style.background = color; return s; }

  /* summary line; a whole count is written with thousands separators (6,242,446 samples) */
  function total(v, unit) {
    return Math.round(v) === v && Math.abs(v) >= 1000 && (!unit || unit === 'count')
      ? v.toLocaleString('en-US') : fmt(v, unit);
  }
  var parts = [R.nSamples.toLocaleString('en-US') + ' sample rows'];
  if (MULTI) parts.unshift(INPUTS.length + ' inputs as labelled roots: ' + INPUTS.map(function (s) { return s.label; }).join(', '));
  R.totals.forEach(function (v, i) {
    // a recording's time says how much of the run it covers ("1.40 s active of 5.0 s recorded")
    var cov = SECTIONS.filter(function (s) { return s.coverage && s.coverage.type === i; });
    parts.push(typeName[i] + ': ' + (!cov.length ? total(v, typeUnit[i]) : !MULTI ? cov[0].coverage.text
      : total(v, typeUnit[i]) + ' (' + cov.map(function (s) { return s.label + ' ' + s.coverage.text; }).join('; ') + ')'));
  });
  parts.push(P.threads.id.length + ' thread' + (P.threads.id.length === 1 ? '' : 's'));
  if (R.warningCount) parts.push(R.warningCount + ' import warning' + (R.warningCount === 1 ? '' : 's'));
  var busyLabels = SECTIONS.filter(function (s) { return s.busy; }).map(function (s) { return s.label; });
  if (busyLabels.length) parts.push('recorded on a host busier than its CPU cores' +
    (MULTI ? ' (' + busyLabels.join(', ') + ')' : '') + ': see Reproducibility');
  $('fk-summary').textContent = parts.join(' · ');
  /* how many samples the shares rest on, and whether that is enough to rank the top functions */
  var t0i = P.defaultType || 0, sn = el('p', 'fk-note');
  sn.id = 'fk-samples';
  var few = SECTIONS.filter(function (s) { return (s.rankable || [])[t0i] === false; });
  sn.textContent = 'Shares rest on ' + SECTIONS.map(function (s) {
    return Math.round((s.effectiveSamples || [])[t0i] || 0).toLocaleString('en-US') + ' samples' +
      (typeName[t0i] === 'samples' ? '' : ' of ' + typeName[t0i]) + (MULTI ? ' in ' + s.label : '');
  }).join(', ') + '; ± is the 95% interval' + (MULTI ? ', and every share in the tables is of its own input\'s total.' : '.') +
    (few.length ? ' Too few samples to rank the top functions' + (MULTI ? ' of ' + few.map(function (s) { return s.label; }).join(', ') : '') +
      ': the first two are within each other\'s interval (record longer or at a higher rate).' : '') +
    SECTIONS.filter(function (s) { return MULTI && !((s.totals || [])[t0i]); }).map(function (s) {
      return ' ' + s.label + ' has no ' + typeName[t0i] + ' values, so its root has no width here: choose one of its ' +
        'sample types with the Sample type selector.';
    }).join('');
  $('fk-summary').parentNode.insertBefore(sn, $('fk-summary').nextSibling);
  if (R.pruneNote) {  /* what the detail budget dropped and how to keep more (render/prune.py) */
    var pn = $('fk-pruned');
    pn.hidden = false;
    pn.textContent = R.pruneNote;
  }

  /* per tree, once: whether a node's function already occurs among its callers (recursion: its
     total counts once, at the outermost occurrence on each path; a labelled input root is no
     function), and the largest function id */
  function nestedOf(D) {
    if (D.nested) return D.nested;
    var n = D.n, nested = new Uint8Array(n), maxFn = 0, i, a;
    for (i = 0; i < n; i++) if (D.func[D.frame[i]] > maxFn) maxFn = D.func[D.frame[i]];
    var onPath = new Int32Array(maxFn + 1), stack = [];  /* depth-first; ~k marks leaving node k */
    for (i = D.roots.length - 1; i >= 0; i--) stack.push(D.roots[i]);
    while (stack.length) {
      var k = stack.pop();
      if (k < 0) { onPath[D.func[D.frame[~k]]]--; continue; }
      if (D.inputOf[k] >= 0 && D.parent[k] < 0) { for (a = D.kidStart[k + 1] - 1; a >= D.kidStart[k]; a--) stack.push(D.kids[a]); continue; }
      var fn = D.func[D.frame[k]];
      nested[k] = onPath[fn] > 0 ? 1 : 0;
      onPath[fn]++;
      stack.push(~k);
      for (a = D.kidStart[k + 1] - 1; a >= D.kidStart[k]; a--) stack.push(D.kids[a]);
    }
    D.maxFunc = maxFn;
    return (D.nested = nested);
  }

  /* functions table, computed from the payload for the graph's type and thread */
  var sortKey = 'self', sortDir = -1;
  function functionRows(g) {
    var D = g.data, v = g.view, n = D.n, list = [], i, nested = nestedOf(D);
    var acc = D.inputFrames.length ? {} : null, idx = acc ? null : new Int32Array(D.maxFunc + 1).fill(-1);
    for (i = 0; i < n; i++) {
      var f = D.frame[i], fn = D.func[f], inp = D.inputOf[i], r;
      if (inp >= 0 && D.parent[i] < 0) continue;  /* a labelled root is no function */
      if (acc) {
        var key0 = inp < 0 ? fn : inp + ':' + fn;
        r = acc[key0];
        if (!r) {
          r = acc[key0] = {func: fn, name: D.names[f], file: D.files[f], self: 0, total: 0, inp: inp,
                           input: inp >= 0 ? D.names[D.inputFrames[inp]] : ''};
          list.push(r);
        }
      } else if (idx[fn] >= 0) r = list[idx[fn]];
      else {
        idx[fn] = list.length;
        r = {func: fn, name: D.names[f], file: D.files[f], self: 0, total: 0, inp: -1, input: ''};
        list.push(r);
      }
      r.self += v.self[i];
      if (!nested[i]) r.total += v.total[i];
    }
    /* shares of the row's own input (its root's total in this view), or of the whole graph */
    var gts = D.inputRoot.map(function (rt) { return rt >= 0 ? v.total[rt] : 0; });
    return list.filter(function (r) { return r.self !== 0 || r.total !== 0; }).map(function (r) {
      var gt = r.inp >= 0 ? gts[r.inp] : (g.grand || 0);
      r.selfPct = gt ? 100 * r.self / gt : 0; r.totalPct = gt ? 100 * r.total / gt : 0; return r;
    });
  }

  /* the rows of the graph's view (its type, thread, base toggle and time range), made once per
     view: the flame graph keeps the whole profile's views, so a range's reset finds them */
  var funcCache = null, funcDrawn = null;
  function cachedRows(g) {
    var v = g.view;
    if (!v.functionRows || v.functionRows.data !== g.data) v.functionRows = {data: g.data, rows: functionRows(g)};
    funcCache = v.functionRows;
    return funcCache.rows;
  }
  /* a table body for what it shows (key): kept for the last few keys and put back when the key
     comes back (a range's reset: the whole profile's rows again, without making them again) */
  function bodyFor(table, key, fill) {
    var kept = table.fkBodies || (table.fkBodies = []), cur = table.tBodies[0], hit = null;
    kept.forEach(function (b) { if (b.key.length === key.length && b.key.every(function (x, i) { return x === key[i]; })) hit = b; });
    if (hit && hit.body === cur) return;
    var body = hit ? hit.body : document.createElement('tbody');
    if (!hit) {
      fill(body);
      kept.push({key: key, body: body});
      if (kept.length > 3) kept.shift();
    }
    table.replaceChild(body, cur);
  }
  var FIRST_ROWS = 100;
  function later(fn) {
    if (window.requestIdleCallback) requestIdleCallback(fn, {timeout: 500});
    else setTimeout(fn, 50);
  }
  function same(x, y) { return !!x && !!y && x.length === y.length && x.every(function (v, i) { return v === y[i]; }); }
  function renderFunctions(g) {
    cachedRows(g);
    var q = $('fk-func-filter').value.toLowerCase(), unit = g.unit();
    var drawn = [funcCache, q, sortKey, sortDir, unit];  /* the same rows, filter and order: nothing to redo */
    if (same(drawn, funcDrawn)) return;
    funcDrawn = drawn;
    bodyFor($('fk-functions'), drawn, function (body) {
      var rows = funcCache.rows.filter(function (r) {
        return !q || r.name.toLowerCase().indexOf(q) >= 0 || r.file.toLowerCase().indexOf(q) >= 0 ||
          r.input.toLowerCase().indexOf(q) >= 0;
      });
      rows.sort(function (a, b) {
        var x = a[sortKey], y = b[sortKey];
        var c = typeof x === 'string' ? (x < y ? -1 : x > y ? 1 : 0) : x - y;
        return c * sortDir || (b.self - a.self) || a.func - b.func;
      });
      var shown = rows.slice(0, 500), D = g.data;
      // effective samples of the shown thread(s): the type's, in proportion to their share of the total
      var nfs = SECTIONS.map(function (s, k) {
        var all = (s.totals || [])[g.type] || 0, rt = MULTI ? D.inputRoot[k] : -1;
        var shown_ = rt >= 0 ? g.view.total[rt] : (g.grand || 0);
        return ((s.effectiveSamples || [])[g.type] || 0) * (all ? shown_ / all : 0);
      });
      function add(from, to) {
        shown.slice(from, to).forEach(function (r) {
          var nf = nfs[r.inp >= 0 ? r.inp : 0];
          var cells = [{text: r.name || '(empty name)', cls: 'fk-fn'}, {text: r.file, cls: 'fk-file'},
            {text: fmt(r.self, unit), cls: 'fk-num'}, {text: pctPm(r.selfPct, nf), cls: 'fk-num'},
            {text: fmt(r.total, unit), cls: 'fk-num'}, {text: pctPm(r.totalPct, nf), cls: 'fk-num'}];
          if (MULTI) cells.unshift({text: r.input, cls: 'fk-input'});
          body.appendChild(row(cells));
        });
      }
      /* the rows the table's box shows first, the rest once the page is idle (laying out 500 rows
         would delay the frame that shows a range or thread change) */
      add(0, FIRST_ROWS);
      if (shown.length > FIRST_ROWS) later(function () { add(FIRST_ROWS, shown.length); });
      body.fkCount = rows.length + ' of ' + funcCache.rows.length + ' functions' +
        (rows.length > shown.length ? ' (first ' + shown.length + ' shown)' : '');
    });
    $('fk-func-count').textContent = $('fk-functions').tBodies[0].fkCount;
    var ths = $('fk-functions').tHead.rows[0].cells;
    for (var i = 0; i < ths.length; i++) {
      var k = ths[i].getAttribute('data-key');
      ths[i].classList.toggle('fk-sorted', k === sortKey);
      ths[i].setAttribute('aria-sort', k === sortKey ? (sortDir < 0 ? 'descending' : 'ascending') : 'none');
    }
  }

  /* with several inputs: one hotspot table per input, shares of that input's own total */
  if (MULTI) {
    $('fk-hotspots').hidden = true;
    SECTIONS.forEach(function (s, i) {
      var h = el('h3', 'fk-input-head'); h.appendChild(swatch(colorOf(i))); h.appendChild(el('span', null, s.label));
      var t = $('fk-hotspots').cloneNode(true);
      t.hidden = false; t.id = 'fk-hotspots-' + i; t.setAttribute('data-input', s.label);
      var hc = t.tHead.rows[0].cells;
      hc[4].textContent = 'Self % of ' + s.label; hc[5].textContent = 'Total % of ' + s.label;
      $('fk-hotspots-inputs').appendChild(h); $('fk-hotspots-inputs').appendChild(t);
    });
  }
  function renderHotspots(g) {
    var k = g.widthType(), v = g.view, rh = null;
    if (!MULTI && fk.rangeHotspots) {  /* time range (timeline.js): once per view */
      if (!v.rangeHotspots || v.rangeHotspots.data !== g.data) v.rangeHotspots = {data: g.data, rh: fk.rangeHotspots(g, cachedRows)};
      rh = v.rangeHotspots.rh;
    }
    $('fk-hotspots-type').textContent = 'by self ' + typeName[k] + (rh ? rh.note : ' (all threads' + (MULTI ? '; per input' : '') + ')' +
      (R.hotspotsExact ? '' : '; computed on the pruned tree: values can be low by up to the pruned share'));
    if (!MULTI) {
      var hs = rh ? rh.rows : R.hotspots[k] || [];  /* libraries.js swaps R.hotspots with its switch */
      bodyFor($('fk-hotspots'), [hs, typeUnit[k]], function (body) { fillHotspots(body, hs, typeUnit[k]); });
    }
    else SECTIONS.forEach(function (s, i) { fillHotspots($('fk-hotspots-' + i).tBodies[0], s.hotspots[k] || [], typeUnit[k]); });
  }
  function fillHotspots(body, rows, unit) {
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
  if (MULTI) {  /* the functions table names each row's input */
    var ith = el('th', null, 'Input'); ith.setAttribute('data-key', 'input');
    var fr = $('fk-functions').tHead.rows[0]; fr.insertBefore(ith, fr.firstChild);
    $('fk-func-filter').placeholder = 'Filter by name, file or input';
    var fth = fr.cells;
    fth[4].textContent = 'Self % of input'; fth[6].textContent = 'Total % of input';
  }

  var side = null;  /* side by side: one flame graph per input (the first two), search shared */
  /* views in their own files register in flamekit.reportViews (libraries.js, calltree.js, source.js):
     {prepare(payload, report) -> the payload drawn first, init(graph, data), update(graph)} */
  var views = fk.reportViews || [], P0 = P;
  views.forEach(function (v) { if (v.prepare) P0 = v.prepare(P0, R); });
  function update(g) {
    renderHotspots(g); renderFunctions(g);
    if (side && !side.el.hidden) side.graphs.forEach(function (g2) { g2.search(g.pattern || '', g.regex); });
    views.forEach(function (v) { if (v.update) v.update(g); });
  }

  var graph = fk.render($('fk-graph'), P0, {id: 'fk', onChange: update});
  views.forEach(function (v) { if (v.init) v.init(graph, data); });
  update(graph);
  if (MULTI && INPUTS.length >= 2) {
    var sbtn = el('button', 'fk-btn', 'Side by side'); sbtn.id = 'fk-side-toggle'; sbtn.type = 'button';
    sbtn.title = 'Show the first two inputs as two flame graphs side by side (the search box above drives both)';
    $('fk-graph').querySelector('.fk-toolbar').appendChild(sbtn);
    side = {el: el('div', 'fk-side'), graphs: []};
    side.el.id = 'fk-side'; side.el.hidden = true;
    $('fk-graph').parentNode.appendChild(side.el);
    sbtn.addEventListener('click', function () {
      side.el.hidden = !side.el.hidden;
      sbtn.textContent = side.el.hidden ? 'Side by side' : 'One graph';
      if (!side.el.hidden && !side.graphs.length) {
        [0, 1].forEach(function (k) {
          var col = el('div', 'fk-side-col'), host = el('div');
          col.setAttribute('data-input', INPUTS[k].label);
          var h = el('h3', 'fk-input-head'); h.appendChild(swatch(colorOf(k))); h.appendChild(el('span', null, INPUTS[k].label));
          col.appendChild(h); col.appendChild(host); side.el.appendChild(col);
          var g2 = fk.render(host, P, {id: 'fk-side' + k, sandwich: false, keyboard: false, legend: false});
          g2.zoomTo(g2.data.inputRoot[k]);
          side.graphs.push(g2);
        });
      }
      update(graph);
    });
  }
  $('fk-func-filter').addEventListener('input', function () { renderFunctions(graph); });
  var ths = $('fk-functions').tHead.rows[0].cells;
  Array.prototype.forEach.call(ths, function (th) {
    th.addEventListener('click', function () {
      var k = th.getAttribute('data-key');
      if (k === sortKey) sortDir = -sortDir; else { sortKey = k; sortDir = (k === 'name' || k === 'file' || k === 'input') ? 1 : -1; }
      renderFunctions(graph);
    });
  });

  /* line charts (memory over time, CPU %, RSS) on canvas; several inputs: one line each, with a legend
   * (time since each recording started, on one axis) */
  function multiChart(canvas, series, unit) {
    if (!series.length) return;
    var i, x1 = 0, ymax = 0;
    series.forEach(function (s) {
      var n = s.xs.length; if (n && s.xs[n - 1] > x1) x1 = s.xs[n - 1];  /* times are since the recording began */
      for (i = 0; i < s.ys.length; i++) if (s.ys[i] > ymax) ymax = s.ys[i];
    });
    chart(canvas, [0, x1 || 1], [0, ymax], unit, 'rgba(0,0,0,0)');
    var c = canvas.getContext('2d'), w = parseFloat(canvas.style.width), h = parseFloat(canvas.style.height);
    var L = 70, B = 22, T = 8, X1 = x1 || 1, Y = ymax > 0 ? ymax : 1;
    series.forEach(function (s) {
      c.strokeStyle = s.color; c.lineWidth = 1.5; c.beginPath();
      for (i = 0; i < s.xs.length; i++) {
        var px = L + s.xs[i] / X1 * (w - L - 6), py = (h - B) - Math.max(0, s.ys[i]) / Y * (h - B - T);
        if (i) c.lineTo(px, py); else c.moveTo(px, py);
      }
      c.stroke();
    });
    if (MULTI) {
      var lg = el('div', 'fk-series-legend');
      series.forEach(function (s) {
        var it = el('span', 'fk-legend-item'); it.setAttribute('data-input', s.label);
        it.appendChild(swatch(s.color)); it.appendChild(el('span', null, s.label)); lg.appendChild(it);
      });
      canvas.parentNode.insertBefore(lg, canvas.nextSibling);
    }
  }
  function seriesOf(table, col, fixed) {
    var out = [];
    SECTIONS.forEach(function (s, i) {
      var t = s[table];
      if (t && t.time && t.time.length > 1) out.push({xs: t.time, ys: t[col], label: s.label, color: MULTI ? colorOf(i) : fixed});
    });
    return out;
  }
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
    c.fillText(x0.toFixed(1) + ' s', L, h - B + 6);  /* the clock's own times (the time-range chip's) */
    var end = x1.toFixed(1) + ' s';
    c.fillText(end, w - 6 - c.measureText(end).width, h - B + 6);
    c.strokeStyle = color; c.lineWidth = 1.5; c.beginPath();
    for (i = 0; i < xs.length; i++) {
      var px = L + (xs[i] - x0) / (x1 - x0) * (w - L - 6), py = (h - B) - Math.max(0, ys[i]) / ymax * (h - B - T);
      if (i) c.lineTo(px, py); else c.moveTo(px, py);
    }
    c.stroke();
    canvas.fkAxis = {left: L, right: w - 6, t0: x0, t1: x1};  /* for the time-range selection */
  }

  /* allocations */
  var allocGraph = null;
  if (R.alloc) {
    $('allocations').hidden = false; $('fk-nav-alloc').hidden = false;
    var at = R.alloc.allocType, ai = typeName.map(function (n, i) { return n + '/' + typeUnit[i]; }).indexOf(at);
    var au = ai >= 0 ? typeUnit[ai] : '', pu = au;
    var ab = $('fk-alloc-sites').tBodies[0];
    if (MULTI) {
      var ah = $('fk-alloc-sites').tHead.rows[0]; ah.insertBefore(el('th', null, 'Input'), ah.firstChild);
      ah.cells[4].textContent = '% of the input\'s allocated';
    }
    R.alloc.rows.forEach(function (r) {
      ab.appendChild(row((MULTI ? [{text: r.input, cls: 'fk-input'}] : []).concat([{text: r.name || '(empty name)', cls: 'fk-fn'},
        {text: r.file ? r.file + (r.line ? ':' + r.line : '') : '', cls: 'fk-file'},
        {text: fmt(r.alloc, au), cls: 'fk-num'}, {text: pct(r.allocPct), cls: 'fk-num'},
        {text: r.peak === null ? '–' : fmt(r.peak, pu), cls: 'fk-num'},
        {text: r.count === null ? '–' : fmt(r.count, 'count'), cls: 'fk-num'}])));
    });
    var gt = R.alloc.graphType || at, gi = typeName.map(function (n, i) { return n + '/' + typeUnit[i]; }).indexOf(gt);
    if (gi >= 0) {
      $('fk-alloc-graph-type').textContent = 'by ' + gt;
      allocGraph = fk.render($('fk-alloc-graph'), P, {id: 'fkmem', type: gi, fixedType: true,
                                                       sandwich: false, keyboard: false});
    }
    var tls = seriesOf('memoryTimeline', 'value', '#8a3ffc');
    if (tls.length) {
      $('fk-memory-wrap').hidden = false;
      multiChart($('fk-memory-chart'), tls, (SECTIONS[0].memoryTimeline || {}).unit || 'megabytes');
    }
  }
  var cpuS = seriesOf('resources', 'cpu_percent', '#d9480f'), heapS = seriesOf('memory', 'heap_bytes', '#8a3ffc');
  /* RSS: the recorder's samples, else (a capture read directly) memray's own */
  var rssS = [];
  SECTIONS.forEach(function (s, i) {
    var t = s.resources && s.resources.time.length > 1 ? s.resources : s.memory && s.memory.time.length > 1 ? s.memory : null;
    if (t) rssS.push({xs: t.time, ys: t.rss_bytes, label: s.label, color: MULTI ? colorOf(i) : '#1971c2'});
  });
  if (rssS.length) {
    $('resources').hidden = false; $('fk-nav-resources').hidden = false;
    if (cpuS.length) multiChart($('fk-cpu-chart'), cpuS, '%');
    else $('fk-cpu-wrap').hidden = true;  /* no CPU timeline (memray's capture read directly) */
    multiChart($('fk-rss-chart'), rssS, 'bytes');
    if (heapS.length) {
      $('fk-heap-wrap').hidden = false;
      multiChart($('fk-heap-chart'), heapS, 'bytes');
    }
    if (MULTI) {
      var missing = SECTIONS.filter(function (s) { return !(s.resources && s.resources.time.length > 1) &&
        !(s.memory && s.memory.time.length > 1); }).map(function (s) { return s.label; });
      if (missing.length) $('resources').appendChild(el('p', 'fk-none', 'No resource timeline recorded for ' + missing.join(', ') + '.'));
    }
  }

  /* reproducibility: one column per input; a field the profile does not carry says so */
  var LABELS = {command: 'Command', cwd: 'Working directory', git_commit: 'Git commit',
    git_dirty: 'Uncommitted changes', python_version: 'Python version', python_implementation: 'Python implementation',
    flamekit_version: 'flamekit version (recording)', tool: 'Recorded with', tool_version: 'Backend version',
    rate_hz: 'Sampling rate (Hz)', host: 'Host', cpu_model: 'CPU model', cpu_count: 'CPU count',
    load_avg_start: 'Load average at start', load_avg_end: 'Load average at end', os: 'OS', pid: 'PID',
    duration_s: 'Duration (s)', sample_count: 'Samples taken', lost_samples: 'Lost samples',
    errors: 'Errored samples', start_time: 'Start time', exit_code: 'Target exit code',
    format: 'Input format', merged_from: 'Merged profiles'};
  var rb = $('fk-repro').tBodies[0], keys = (R.reproKeys || []).slice(), vals = SECTIONS.map(function (s) {
    var m = {};
    (s.meta || []).forEach(function (kv) { m[kv[0]] = kv[1]; if (keys.indexOf(kv[0]) < 0) keys.push(kv[0]); });
    return m;
  });
  if (MULTI) {
    var hr = el('tr'); hr.appendChild(el('th', null, 'Field'));
    SECTIONS.forEach(function (s, i) { var th = el('th'); th.appendChild(swatch(colorOf(i))); th.appendChild(el('span', null, s.label)); hr.appendChild(th); });
    $('fk-repro').createTHead().appendChild(hr);
  }
  keys.forEach(function (k) {
    var tr = el('tr'), kc = el('td', 'fk-key', LABELS[k] || k);
    tr.appendChild(kc);
    vals.forEach(function (m, i) {
      var has = Object.prototype.hasOwnProperty.call(m, k);
      var td = el('td', has ? 'fk-mono' : 'fk-none', has ? m[k] : 'not recorded');
      if (MULTI) td.setAttribute('data-input', SECTIONS[i].label);
      tr.appendChild(td);
    });
    tr.setAttribute('data-key', k);
    rb.appendChild(tr);
  });
  var vr = el('tr');
  vr.setAttribute('data-key', 'report_version');
  vr.appendChild(el('td', 'fk-key', 'flamekit version (this report)'));
  var vc = el('td', 'fk-mono', R.reportVersion || ''); if (MULTI) vc.colSpan = SECTIONS.length;
  vr.appendChild(vc); rb.appendChild(vr);
  SECTIONS.forEach(function (s) {
    if (!s.busy) return;
    var w = el('p', 'fk-note fk-busy', (MULTI ? s.label + ': ' : '') + s.busy);
    $('fk-repro').parentNode.insertBefore(w, $('fk-repro'));
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
  var flamekitVersion = R.reportVersion;
  $('fk-export-speedscope').addEventListener('click', exporting('.speedscope.json', 'application/json',
    function () { return fk.exportSpeedscope(P, graph.widthType(), 'flamekit@' + flamekitVersion); }));
  $('fk-export-folded').addEventListener('click', exporting('.folded', 'text/plain',
    function () { return fk.exportFolded(P, graph.widthType(), graph.thread); }));

  window.flamekitState = {ready: true, graph: graph, allocGraph: allocGraph, drawMs: performance.now() - t0, doc: data};
})();
