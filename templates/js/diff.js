/* flamekit diff page: wires the flame graph (flamegraph.js, diff mode) to the diff sections.
 *
 * Reads {"payload": <flame graph payload with payload.diff = {base: 0, head: 1}>,
 *        "diff": {title, verdict, counts, metric, by, alpha, minDelta, absolute, method,
 *                 dispersion, dispersionSource, measure, rules, framesChanged, sampleType,
 *                 base: [run], head: [run], rows: [row + {frame}], rowsOmitted, vanished: [{node, name,
 *                 file, base, path}], vanishedCount, goneFunctions: [{name, file, base}]}}
 * from #flamekit-data (built by flamekit/render/diff_html.py; rows as in docs/diff.md, plus
 * "frame": the payload frame id of the row's function, -1 when it is not drawn). Rows are
 * matched to graph frames by that id, never by name (names are clipped to 1,024 characters).
 *
 * Uses only the flame graph's documented hooks: colorFor (colour follows significance: red =
 * the frame's function is a significant regression, blue = a significant improvement, shade by
 * the node's Δ self relative to the page's largest; every other frame neutral grey, darker when
 * its share changed without significance) and tooltipRows (status in words, Δ, q-value). All text goes through textContent; never innerHTML.
 * Sets window.flamekitState = {ready: true, graph} when the first drawing is done.
 */
(function () {
  'use strict';
  var fk = window.flamekit, el = fk.el;
  window.flamekitState = {ready: false};
  var data = JSON.parse(document.getElementById('flamekit-data').textContent);
  var P = data.payload, X = data.diff, S = P.strings;
  function $(id) { return document.getElementById(id); }
  function pp(v) { return (v >= 0 ? '+' : '') + v.toFixed(2); }
  function pc(v) { return v === null || v === undefined ? '–' : v.toFixed(2); }
  function qf(q) { return q === null || q === undefined ? '–' : (q < 0.001 ? q.toExponential(1) : q.toFixed(3)); }
  function shortPath(p) {   // last two path components, full path in the title
    var parts = p.split(/[\\/]/);
    var s = parts.length > 2 ? '…/' + parts.slice(-2).join('/') : p;
    return s.length > 48 ? '…' + s.slice(-47) : s;
  }

  /* per-node self delta scale (payload samples: one row per node, values[0]=base, [1]=head) */
  var maxAbs = 0, vb = P.samples.values[P.diff.base], vh = P.samples.values[P.diff.head];
  for (var i = 0; i < P.samples.node.length; i++) maxAbs = Math.max(maxAbs, Math.abs(vh[i] - vb[i]));
  var scale = Math.max(maxAbs, X.minDelta || 1e-9);
  var byFrame = {};   // rows carry the payload frame id of their function (-1: not drawn)
  X.rows.forEach(function (r) { if (r.frame >= 0) byFrame[r.frame] = r; });
  var other = P.pruned.otherFrame;

  var graph = null;
  var NEUTRAL = 'rgb(236,236,236)', CHANGED = 'rgb(212,212,212)';
  function colorFor(info) {
    if (!info.base || (graph && graph.pattern)) return null;   // search highlighting wins
    if (info.frame === other) return 'rgb(184,184,184)';
    var r = byFrame[info.frame], d = info.head.self - info.base.self;
    if (r && (r.regression || r.improvement)) {   // significant (q <= alpha) and >= minDelta
      var a = Math.min(Math.abs(d) / scale, 1), lo = Math.round(200 - 150 * Math.sqrt(a));
      return r.regression ? 'rgb(255,' + lo + ',' + lo + ')' : 'rgb(' + lo + ',' + lo + ',255)';
    }
    return Math.abs(d) < 1e-9 ? NEUTRAL : CHANGED;   // not significant: neutral, never red/blue
  }
  function tooltipRows(info) {
    var r = byFrame[info.frame];
    if (!r) return [];
    return [['Function', r.status_text + ' · Δ total ' + pp(r.delta_total) + ' pp' +
             (r.delta_s_per_run !== null && r.delta_s_per_run !== undefined ? ' · ' + sec(r.delta_s_per_run) + ' per run' : '')],
            ['q-value', qf(r.q_value) + (r.significant ? ' (significant)' : ' (not significant)')]];
  }
  function onChange(g) {
    $('fk-graph-side').textContent = g.showBase ? 'base widths' : 'head widths';
    $('fk-widths').textContent = g.showBase ? 'base (' + X.baseName + ')' : 'head (' + X.headName + ')';
    $('fk-widths-other').textContent = g.showBase ? 'head' : 'base';
  }
  function sec(v) { return (v >= 0 ? '+' : '−') + Math.abs(v).toFixed(Math.abs(v) >= 0.1 ? 2 : 3) + ' s'; }
  /* a name as text nodes with a <wbr> after each '.', '_', '/' or ':' (and every 24 characters of
     a run without one), so long names wrap at their parts, never mid-word; no innerHTML */
  function wrapName(td, text) {
    var run = 0, buf = '';
    for (var i = 0; i < text.length; i++) {
      var ch = text[i];
      buf += ch; run++;
      if ('._/:'.indexOf(ch) >= 0 || run >= 24) {
        td.appendChild(document.createTextNode(buf));
        td.appendChild(document.createElement('wbr'));
        buf = ''; run = 0;
      }
    }
    if (buf) td.appendChild(document.createTextNode(buf));
    return td;
  }

  /* verdict and summary */
  var v = $('fk-verdict'), c = X.counts;
  v.textContent = X.verdict === 'regression' ? 'Regression: ' + c.regressions + ' function(s) got slower'
    : X.verdict === 'improvement' ? 'Improvement: ' + c.improvements + ' function(s) got faster'
    : 'No significant change';
  v.textContent += ' (q ≤ ' + X.alpha + ' and |Δ| ≥ ' + X.minDelta + ' pp of ' + X.metric + ' time)';
  var MEM = X.memory, MiB = 1048576;  /* a memory diff: exact bytes, no test */
  if (MEM) {
    v.textContent = (X.verdict === 'regression' ? 'Memory regression: ' + c.regressions + ' function(s) grew'
      : X.verdict === 'improvement' ? 'Memory improvement: ' + c.improvements + ' function(s) shrank'
      : 'No memory change') + ' (exact bytes of ' + MEM.sample_type + ': ' +
      (MEM.base_total_bytes / MiB).toFixed(2) + ' → ' + (MEM.head_total_bytes / MiB).toFixed(2) + ' MiB' +
      (MEM.gate ? '; gate ' + MEM.gate : '') + ')';
    Array.prototype.forEach.call($('fk-changes').tHead.rows[0].cells, function (th) {
      if (th.textContent === 'q') th.textContent = 'Δ MiB';  /* no test: the change in bytes */
    });
  }
  v.classList.add(X.verdict === 'regression' ? 'fk-regression' : X.verdict === 'improvement' ? 'fk-improvement' : 'fk-nochange');
  $('fk-summary').textContent = 'Base: ' + X.baseName + ' (' + X.base.length + ' run(s)) → Head: ' +
    X.headName + ' (' + X.head.length + ' run(s))' + (X.runTime ? ' · run time ' + X.runTime : '') +
    ' · ' + X.sampleType + ' · by ' + X.by + ' · new ' + c['new'] + ', grown ' + c.grown +
    ', shrunk ' + c.shrunk + ', gone ' + c.gone + ', not significant or unchanged ' + c.unchanged;
  if (MEM && MEM.allocator_note) $('fk-summary').textContent += ' · Allocator: ' + MEM.allocator_note;
  if (X.warnings) {  /* the inputs' doubts: import warnings, late py-spy runs (their text, as text) */
    var wb = $('fk-warnings'), wh = document.createElement('strong'), wl = document.createElement('ul');
    wh.textContent = '⚠ Input warnings: ' + X.warnings.counts + ' (flamekit info FILE lists a file\'s warnings)';
    X.warnings.lines.concat(X.warnings.more ? ['… and ' + X.warnings.more + ' more'] : []).forEach(function (t) {
      var li = document.createElement('li');
      li.textContent = t;
      wl.appendChild(li);
    });
    wb.appendChild(wh);
    wb.appendChild(wl);
    wb.hidden = false;
  }
  $('fk-widths').textContent = 'head (' + X.headName + ')';
  // nodes < 0: the narrow nodes were never merged, so they were not counted
  if (P.pruned.nodes > 0 || (P.pruned.nodes < 0 && (P.pruned.share[0] > 0 || P.pruned.share[1] > 0))) {
    var pn = $('fk-pruned');
    pn.hidden = false;
    pn.textContent = 'Merged ' + (P.pruned.nodes > 0 ? P.pruned.nodes + ' ' : 'the ') +
      'call-tree nodes narrower than ' +
      (100 * P.pruned.fraction).toPrecision(2) + '% on both sides into "[other]" nodes (' +
      (100 * P.pruned.share[0]).toFixed(3) + '% of base, ' + (100 * P.pruned.share[1]).toFixed(3) + '% of head).';
  }

  graph = fk.render($('fk-graph'), P, {colorFor: colorFor, tooltipRows: tooltipRows, onChange: onChange});
  graph.redraw();

  /* table of changes */
  function escRe(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }
  var tbody = $('fk-changes').tBodies[0], m = X.metric;
  function fillChanges(filter) {
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    var f = (filter || '').toLowerCase(), shown = 0;
    X.rows.forEach(function (r) {
      if (f && (r.name + ' ' + r.file + ' ' + r.status_text).toLowerCase().indexOf(f) < 0) return;
      if (shown >= 300) return;
      shown++;
      var tr = el('tr', r.regression ? 'fk-flag' : r.improvement ? 'fk-flag-good' : null);
      var st = el('td', 'fk-status fk-st-' + r.status, r.status_text.split(' (')[0]);
      st.title = r.status_text;
      tr.appendChild(st);
      var d = r['delta_' + m];
      var dc = el('td', 'fk-num ' + (r.regression ? 'fk-up' : r.improvement ? 'fk-down' : ''), pp(d));
      dc.title = 'Δ total ' + pp(r.delta_total) + ' pp';
      tr.appendChild(dc);
      if (X.runTime) tr.appendChild(el('td', 'fk-num', r.delta_s_per_run === null ? '–' : sec(r.delta_s_per_run)));
      tr.appendChild(el('td', 'fk-num', MEM ? (r.delta_bytes >= 0 ? '+' : '') + (r.delta_bytes / MiB).toFixed(2)
                                            : qf(r.q_value)));
      var fn = wrapName(el('td', 'fk-fn'), r.name || '(empty name)');
      tr.appendChild(fn);
      var loc = r.file + (r.line ? ':' + r.line : ''), fc = wrapName(el('td', 'fk-file'), shortPath(loc));
      fc.title = loc;
      tr.appendChild(fc);
      tr.appendChild(el('td', 'fk-num', pc(r['base_' + m])));
      tr.appendChild(el('td', 'fk-num', pc(r['head_' + m])));
      tr.title = 'Highlight in the flame graph';
      tr.addEventListener('click', function () {
        graph.searchBox.value = '^' + escRe(r.name) + '$';
        graph.regexBox.checked = true;
        graph.search(graph.searchBox.value, true);
        graph.changed();
      });
      tbody.appendChild(tr);
    });
    $('fk-changes-count').textContent = shown + ' of ' + X.rows.length + ' shown';
  }
  fillChanges('');
  $('fk-changes-filter').addEventListener('input', function () { fillChanges(this.value); });
  if (X.rowsOmitted > 0) {
    $('fk-changes-note').hidden = false;
    $('fk-changes-note').textContent = X.rowsOmitted + ' smaller changes are not embedded (see --json).';
  }

  /* vanished frames and gone functions */
  var vt = $('fk-vanished').tBodies[0];
  X.vanished.forEach(function (r) {
    var tr = el('tr');
    tr.appendChild(el('td', 'fk-fn', r.name || '(empty name)'));
    tr.appendChild(el('td', 'fk-file', r.file));
    tr.appendChild(el('td', 'fk-num', pc(r.base)));
    tr.appendChild(el('td', 'fk-pathtext', r.path.join(' → ')));
    var td = el('td'), b = el('button', 'fk-btn fk-view', 'View');
    b.type = 'button';
    b.addEventListener('click', function () {
      if (!graph.showBase) graph.toggleBase();
      graph.zoomTo(r.node);
      graph.changed();
      $('flamegraph').scrollIntoView();
    });
    td.appendChild(b); tr.appendChild(td);
    vt.appendChild(tr);
  });
  $('fk-vanished-count').textContent = X.vanishedCount ? X.vanishedCount + ' call path(s)' : 'none';
  var gt = $('fk-gone').tBodies[0];
  X.goneFunctions.forEach(function (r) {
    var tr = el('tr');
    tr.appendChild(el('td', 'fk-fn', r.name || '(empty name)'));
    tr.appendChild(el('td', 'fk-file', r.file));
    tr.appendChild(el('td', 'fk-num', pc(r.base)));
    gt.appendChild(tr);
  });
  $('fk-gone-count').textContent = X.goneFunctions.length ? String(X.goneFunctions.length) : 'none';

  /* method */
  var ul = $('fk-method');
  function li(t) { ul.appendChild(el('li', null, t)); }
  li('Frames matched by ' + (X.by === 'function' ? '(name, file): moved lines are not new code' : X.by) + '.');
  li('Measure: ' + X.measure + '.');
  li(X.method === 'binomial'
    ? 'Test: one run per side, two-proportion z test under the sampling model, variance × ' +
      X.dispersion.toFixed(2) + ' for over-dispersion (' + X.dispersionSource + ').'
    : 'Test: Welch\'s t on per-run shares (variance never below the sampling variance).');
  li('Benjamini–Hochberg over the functions that could change by ' + X.minDelta + ' pp; regression: q ≤ ' +
     X.alpha + ' and Δ ≥ ' + X.minDelta + ' pp of ' + X.metric + ' time.');
  li(X.normalizeNames ? 'Name normalization on: ' + X.rules.map(function (r) {
    return r.name + ' (' + (X.framesChanged.base[r.name] || 0) + '/' + (X.framesChanged.head[r.name] || 0) + ' frames)';
  }).join(', ') + '.' : 'Name normalization off.');
  var rt = $('fk-runs').tBodies[0];
  [['base', X.base], ['head', X.head]].forEach(function (side) {
    side[1].forEach(function (r) {
      var tr = el('tr');
      tr.appendChild(el('td', 'fk-key', side[0]));
      tr.appendChild(el('td', 'fk-mono', r.source));
      tr.appendChild(el('td', 'fk-num', Math.round(r.samples) + ' samples'));
      rt.appendChild(tr);
    });
  });
  window.flamekitState = {ready: true, graph: graph};
})();
