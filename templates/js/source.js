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
 * Source text is UNTRUSTED: it reaches the page through textContent only. Rows carry data-line,
 * data-self and data-total. Registers in flamekit.reportViews (see report.js).
 */
(function () {
  'use strict';
  var fk = window.flamekit = window.flamekit || {};
  var CONTEXT = 8;  // lines of text around each sampled line (flamekit/analysis/source.py CONTEXT)

  var SRC = null, shown = '';

  function $(id) { return document.getElementById(id); }
  function clear(n) { while (n.firstChild) n.removeChild(n.firstChild); }

  function render(g) {
    var lib = $('fk-hide-libraries'), hid = !!(lib && lib.checked);
    var func = g.sandwichFunc, t = g.widthType(), key = func + ':' + t + ':' + hid;
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
    var byLine = {}, maxT = 0, sumS = 0, sumT = 0, i;
    for (i = 0; i < e.line.length; i++) {
      byLine[e.line[i]] = i;
      maxT = Math.max(maxT, Math.abs(total[i]));
      sumS += self[i]; sumT += total[i];
    }
    if (!file) {
      note.hidden = false;
      note.textContent = SRC.omitted ? 'Source text left out of this report (--no-source); per-line figures only.'
        : 'Source text not available (the file is not on this machine and the profile does not carry it); per-line figures only.';
    } else if (SRC.approximate) {
      note.hidden = false;
      note.textContent = 'A very large profile: a line\'s total counts a function that calls itself through ' +
        'other functions once per call (direct recursion once).';
    } else if (file.cut) {
      note.hidden = false;
      note.textContent = 'The file is long: only part of the text around its sampled lines is kept.';
    }
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
      if (j !== undefined) {
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
    fr2.appendChild(el('td', 'fk-num', fk.fmt(sumS, unit)));
    fr2.appendChild(el('td', 'fk-num', fk.fmt(sumT, unit)));
    fr2.appendChild(el('td', 'fk-src-sum', 'the function, all threads' +
                       (hid && e.selfHidden ? '; self includes the library code it called' : '') +
                       (file ? ' · ' + file.path + (file.origin === 'profile' ? ' (text from the profile)' : '') : '')));
    fr2.id = 'fk-source-sum';
    fr2.setAttribute('data-self', String(sumS));
    fr2.setAttribute('data-total', String(sumT));
    foot.appendChild(fr2);
  }

  fk.reportViews = fk.reportViews || [];
  fk.reportViews.push({
    name: 'source',
    init: function (graph, data) { SRC = data.report.source || null; shown = ''; },
    update: function (graph) { if ($('fk-source-table') && graph.opts.id === 'fk') render(graph); }
  });
})();
