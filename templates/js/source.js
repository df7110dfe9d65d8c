/* flamekit report: the source view, per-line self and total of the selected function (a heatmap).
 *
 * Reads report.source (flamekit/render/report_views.py; figures from flamekit/analysis/source.py):
 *   {omitted, approximate, files: [{path, origin: "profile"|"file", cut, chunks: [[first line, [text]], ...]}],
 *    funcs: {<payload func id>: {file: index into files or -1, line: [int],
 *                                self: [[per line] per type], total: [[per line] per type],
 *                                selfHidden: OPTIONAL self with library frames hidden}}}
 * A line's self is the value of samples whose leaf is the function at that line; its total the
 * value of samples whose outermost frame of the function is at that line, so the lines' selves
 * sum to the function's self and their totals to its total (recursion counted once); with the
 * library switch on (libraries.js), a line's self also counts the library code it called. Figures
 * are for all threads, the flame graph's shown sample type. The function is the flame graph's
 * selection (graph.sandwichFunc: a click in the flame graph, the sandwich or the call tree).
 * With a time range set (timeline.js), the figures are those of the range's samples: the range's
 * rows (flamekit.sampleRange(data).lnode) summed per node of report.source.stacks (layout:
 * flamekit/render/source_range.py), then one pass over the nodes finds each one's outermost node
 * of the function (its total's line) and its leaf (its self's line; with libraries hidden the
 * node's "hidden" leaf). Lines keep the whole profile's list; the note says "range: ...". A report
 * without stacks says the range has no per-line figures and shows none.
 * Source text is UNTRUSTED: it reaches the page through textContent only. Rows carry data-line,
 * data-self and data-total (no figures: none); the sum row #fk-source-sum data-range ("lo hi", or
 * "none" without per-line figures for it) while a range is set. Registers in flamekit.reportViews (see report.js).
 */
(function () {
  'use strict';
  var fk = window.flamekit = window.flamekit || {};
  var CONTEXT = 8;  // lines of text around each sampled line (flamekit/analysis/source.py CONTEXT)

  var SRC = null, shown = '', ST = null;

  /* report.source.stacks decoded once: typed columns and each node's self leaf with libraries hidden */
  function stacks() {
    var S = SRC && SRC.stacks;
    if (!S || !S.parent) return null;
    if (ST) return ST;
    var n = S.parent.length, func = Int32Array.from(S.func), hleaf = new Int32Array(n), i;
    for (i = 0; i < n; i++) hleaf[i] = func[i] >= 0 ? i : -1;
    if (S.hidden) for (i = 0; i < S.hidden.node.length; i++) hleaf[S.hidden.node[i]] = S.hidden.leaf[i];
    ST = {n: n, parent: Int32Array.from(S.parent), func: func, line: Int32Array.from(S.line), hleaf: hleaf,
          outer: new Int32Array(n), acc: new Float64Array(n)};
    return ST;
  }

  /* per line of function `func`: {self: {line: v}, total: {line: v}} of the range's rows `sel` */
  function rangeLines(sel, func, t, hid) {
    var s = stacks(), k, i, o, p, rows = sel.lnode, v = sel.values[t], acc = s.acc, outer = s.outer;
    var self = {}, total = {}, par = s.parent, fn = s.func, ln = s.line, leaf = hid ? s.hleaf : null;
    acc.fill(0);
    for (k = 0; k < rows.length; k++) acc[rows[k]] += v[k];
    for (i = 0; i < s.n; i++) {  /* parent[i] < i: a node's outermost node of func is known before it */
      p = par[i]; o = p >= 0 ? outer[p] : -1;
      outer[i] = o < 0 && fn[i] === func ? i : o;
      if (acc[i] === 0) continue;
      if (outer[i] >= 0) total[ln[outer[i]]] = (total[ln[outer[i]]] || 0) + acc[i];
      var h = leaf ? leaf[i] : (fn[i] >= 0 ? i : -1);
      if (h >= 0 && fn[h] === func) self[ln[h]] = (self[ln[h]] || 0) + acc[i];
    }
    return {self: self, total: total};
  }

  function $(id) { return document.getElementById(id); }
  function clear(n) { while (n.firstChild) n.removeChild(n.firstChild); }

  function render(g) {
    var lib = $('fk-hide-libraries'), hid = !!(lib && lib.checked);
    var sel = fk.sampleRange ? fk.sampleRange(g.data) : null, rng = sel && fk.timeline && fk.timeline.range;
    var func = g.sandwichFunc, t = g.widthType(), key = func + ':' + t + ':' + hid + ':' + (sel ? fk.rangeKey : '');
    if (key === shown) return;
    shown = key;
    var el = fk.el, D = g.data, body = $('fk-source-table').tBodies[0], title = $('fk-source-title');
    var note = $('fk-source-note'), unit = g.unit();
    var table = $('fk-source-table'), foot = table.tFoot || table.createTFoot();
    clear(body); clear(title); clear(foot);
    note.hidden = true;
    var fr = func >= 0 ? D.func.indexOf(func) : -1;
    if (fr < 0) { title.textContent = 'Select a function in the flame graph or the call tree'; return; }
    title.appendChild(el('span', 'fk-src-fn', D.names[fr] || '(empty name)'));
    if (D.files[fr]) title.appendChild(el('span', 'fk-src-file', D.files[fr]));
    var e = SRC && SRC.funcs[String(func)];
    if (!e) {
      note.hidden = false;
      note.textContent = 'The profile has no line numbers for this function (or it is too light to be listed).';
      return;
    }
    var file = e.file >= 0 ? SRC.files[e.file] : null, self = ((hid && e.selfHidden) || e.self)[t] || [], total = e.total[t] || [];
    /* a range without per-line data: lines and text, no figures (never the whole profile's) */
    var none = !!sel && !(sel.lnode && stacks());
    if (sel && !none) {
      var r = rangeLines(sel, func, t, hid);
      self = e.line.map(function (ln) { return r.self[ln] || 0; });
      total = e.line.map(function (ln) { return r.total[ln] || 0; });
    } else if (none) {
      self = e.line.map(function () { return null; });
      total = self;
    }
    var byLine = {}, maxT = 0, sumS = 0, sumT = 0, i;
    for (i = 0; i < e.line.length; i++) {
      byLine[e.line[i]] = i;
      maxT = Math.max(maxT, Math.abs(total[i]));
      sumS += self[i]; sumT += total[i];
    }
    var notes = [];
    if (sel) {
      var why = SRC.stacks && SRC.stacks.omitted;
      notes.push((rng ? rng.text : 'range') + (none ? ': this report has no per-line figures for a time range (' +
        (why || 'the time order does not carry its samples\' lines') + '); select the whole profile (Reset range) for them.'
        : ': per-line figures of the samples in the range.'));
    }
    if (!file) {
      var only = none ? '.' : '; per-line figures only.';
      notes.push(SRC.omitted ? 'Source text left out of this report (--no-source)' + only
        : 'Source text not available (the file is not on this machine and the profile does not carry it)' + only);
    } else if (SRC.approximate && !sel) {  /* a range's totals are exact (source_range.py) */
      notes.push('A very large profile: a line\'s total counts a function that calls itself through ' +
        'other functions once per call (direct recursion once).');
    } else if (file.cut) {
      notes.push('The file is long: only part of the text around its sampled lines is kept.');
    }
    if (notes.length) { note.hidden = false; note.textContent = notes.join(' '); }
    /* lines to show: the sampled ones with up to CONTEXT lines of text around them ("⋮" between) */
    var text = {}, want = [], seen = {}, known = e.line.filter(function (x) { return x > 0; });
    if (file) file.chunks.forEach(function (c) { for (var k = 0; k < c[1].length; k++) text[c[0] + k] = c[1][k]; });
    if (byLine[0] !== undefined) want.push(0);
    known.forEach(function (x) {
      for (var ln = Math.max(1, x - CONTEXT); ln <= x + CONTEXT; ln++) {
        if (!seen[ln] && (ln === x || text[ln] !== undefined)) { seen[ln] = 1; want.push(ln); }
      }
    });
    want.sort(function (x, y) { return x - y; });
    for (i = want.length - 1; i > 0; i--) if (want[i - 1] > 0 && want[i] > want[i - 1] + 1) want.splice(i, 0, -1);
    want.forEach(function (ln) {
      var tr = el('tr');
      if (ln < 0) { tr.className = 'fk-src-gap'; tr.appendChild(el('td', 'fk-src-ln', '\u22ee')); tr.appendChild(el('td')); tr.appendChild(el('td')); tr.appendChild(el('td')); body.appendChild(tr); return; }
      var j = byLine[ln], s = j === undefined ? null : self[j], tt = j === undefined ? null : total[j];
      tr.appendChild(el('td', 'fk-src-ln', ln ? String(ln) : '?'));
      tr.appendChild(el('td', 'fk-num', s === null || s === 0 ? '' : fk.fmt(s, unit)));
      tr.appendChild(el('td', 'fk-num', tt === null || tt === 0 ? '' : fk.fmt(tt, unit)));
      tr.appendChild(el('td', 'fk-src-code', ln ? (text[ln] || '') : '(line unknown)'));
      if (j !== undefined && none) tr.setAttribute('data-line', String(ln));
      else if (j !== undefined) {
        tr.setAttribute('data-line', String(ln));
        tr.setAttribute('data-self', String(s));
        tr.setAttribute('data-total', String(tt));
        var a = maxT ? Math.abs(tt) / maxT : 0;
        if (a > 0) tr.style.backgroundColor = 'rgba(234, 88, 12, ' + (0.08 + 0.5 * a).toFixed(3) + ')';
        if (s) tr.cells[1].classList.add('fk-src-hot');
      }
      body.appendChild(tr);
    });
    var fr2 = el('tr');
    fr2.appendChild(el('td', null, 'all'));
    fr2.appendChild(el('td', 'fk-num', none ? '' : fk.fmt(sumS, unit)));
    fr2.appendChild(el('td', 'fk-num', none ? '' : fk.fmt(sumT, unit)));
    fr2.appendChild(el('td', 'fk-src-sum', (sel ? 'the function in the range' : 'the function') + ', all threads' +
                       (hid && e.selfHidden ? '; self includes the library code it called' : '') +
                       (file ? ' · ' + file.path + (file.origin === 'profile' ? ' (text from the profile)' : '') : '')));
    fr2.id = 'fk-source-sum';
    if (!none) { fr2.setAttribute('data-self', String(sumS)); fr2.setAttribute('data-total', String(sumT)); }
    if (sel) fr2.setAttribute('data-range', none ? 'none' : String(rng ? rng.lo + ' ' + rng.hi : ''));
    foot.appendChild(fr2);
  }

  fk.reportViews = fk.reportViews || [];
  fk.reportViews.push({
    name: 'source',
    init: function (graph, data) { SRC = data.report.source || null; shown = ''; ST = null; },
    update: function (graph) { if ($('fk-source-table') && graph.opts.id === 'fk') render(graph); }
  });
})();
