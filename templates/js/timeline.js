/* flamekit time order: a chronological flame chart and a time-range filter for the report page.
 *
 * Reads report.timeline (layout: flamekit/render/timeline.py; absent for untimed profiles):
 *   t0, tick, dt:[int] (row time = t0 + tick * cumulative dt; rows in time order),
 *   node:[int] (payload node), thread:[int] ([] = thread 0), values:[[num] | num per type],
 *   count:[int] | 1, samples, total, bin, interval, clock ("recording" = resources' clock),
 *   note, capped {until} (optional), lnode:[int] (optional: per row, its node in
 *   report.source.stacks, for source.js).
 *
 * Builds the "Time order" section: an overview of samples over time (drag to select a range),
 * the flame chart (x = time, one lane per thread, callers on top; click a frame to zoom to it,
 * Ctrl+wheel to zoom, Shift+wheel to pan, its own search), and the range chip. A range also
 * comes from dragging on the resource timeline's charts (when the clocks agree). The range
 * filters the flame graph (Data.range, read by flamegraph.js Data.values), the functions table,
 * the hotspots (flamekit.rangeHotspots, called by report.js) and the source view (source.js reads
 * flamekit.sampleRange(data).lnode and flamekit.timeline.range.text).
 *
 * API (tests): window.flamekit.timeline = {setRange(lo, hi), reset(), range, rows, lanes,
 *   boxes(name) -> [[start, end, thread], ...], drawn(name) -> {x, y, start, end, samples} | null,
 *   zoom(t0, t1), view, buildMs}.
 * Safety: names reach the page through textContent and canvas fillText only.
 */
(function () {
  'use strict';
  var fk = window.flamekit, state = window.flamekitState;
  if (!fk || !state || !state.doc || !state.doc.report.timeline) return;
  var T0 = performance.now();
  var TL = state.doc.report.timeline, g = state.graph, D = null, el = fk.el, fmt = fk.fmt;
  var ROW = 16, LANE_HEAD = 18, MAX_DEPTH = 80, FONT = '11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
  function $(id) { return document.getElementById(id); }

  /* ---- rows ---- */
  /* node0: the payload's nodes; node: the same in the tree the flame graph draws now (sync) */
  var n = TL.dt.length, time = new Float64Array(n), node0 = Int32Array.from(TL.node), node = node0, i;
  var thread = TL.thread.length ? Int32Array.from(TL.thread) : new Int32Array(n);
  var count = TL.count === 1 ? null : Int32Array.from(TL.count), cum = 0;
  var lnode = TL.lnode ? Int32Array.from(TL.lnode) : null;  /* per row: its node in report.source.stacks */
  for (i = 0; i < n; i++) { cum += TL.dt[i]; time[i] = TL.t0 + cum * TL.tick; }
  var values = TL.values.map(function (v) {
    if (typeof v === 'number') { var a = new Float64Array(n); a.fill(v); return a; }
    return Float64Array.from(v);
  });
  var interval = TL.interval > 0 ? TL.interval : (TL.bin || 0.01);
  var tMin = n ? time[0] : 0, tMax = n ? time[n - 1] + interval : 1;
  if (!(tMax > tMin)) tMax = tMin + 1;
  function samplesIn(a, b) { var s = 0; for (var k = a; k < b; k++) s += count ? count[k] : 1; return s; }
  function lowerBound(t) {  /* first row with time >= t */
    var lo = 0, hi = n;
    while (lo < hi) { var m = (lo + hi) >> 1; if (time[m] < t) lo = m + 1; else hi = m; }
    return lo;
  }
  function secs(t) { return t.toFixed(Math.abs(t) < 10 ? 2 : 1); }

  /* ---- flame chart boxes: per thread lane, per depth, merged runs of one node ----
   * A sample lasts until the next sample of its thread when that comes within 1.5 intervals,
   * else one interval. Binned rows (same time) share their bin in proportion to their counts.
   * Boxes are not stored: walk() replays the rows and hands each finished box to a callback,
   * so memory stays at the rows' size however deep and varied the stacks are; a zoomed window
   * replays only its own rows, from the checkpoint before it (see checkpoints()). */
  var chartT = time;
  if (TL.bin > 0) {
    chartT = new Float64Array(n);
    for (i = 0; i < n;) {
      var j0 = i, tot = {}, at = {};
      while (i < n && time[i] === time[j0]) { tot[thread[i]] = (tot[thread[i]] || 0) + (count ? count[i] : 1); i++; }
      for (var q = j0; q < i; q++) {
        var th = thread[q], c0 = at[th] || 0;
        chartT[q] = time[q] + TL.bin * c0 / tot[th];
        at[th] = c0 + (count ? count[q] : 1);
      }
    }
  }
  var nThreads = Math.max(1, state.doc.payload.threads.id.length), laneOf = new Int32Array(nThreads).fill(-1), lanes = [];
  /* follow the flame graph's tree: the "hide library frames" switch swaps in a folded one
     (libraries.js: payload.folded.nodeMap maps the payload's nodes to it) */
  function sync() {
    if (D === g.data) return false;
    D = g.data;
    var m = D.p.folded && D.p.folded.nodeMap;
    node = m ? node0.map(function (x) { return m[x]; }) : node0;
    var deep = new Int32Array(nThreads), seen = new Uint8Array(nThreads), th, k;
    for (k = 0; k < n; k++) {
      th = thread[k]; seen[th] = 1;
      var dd = Math.min(D.depth[node[k]] + 1, MAX_DEPTH);
      if (dd > deep[th]) deep[th] = dd;
    }
    lanes.length = 0;
    for (th = 0; th < nThreads; th++) if (seen[th]) { laneOf[th] = lanes.length; lanes.push({thread: th, depth: deep[th]}); }
    colorsFor = undefined; mini = null; ck = null; fullView = null;
    if (search && search.value) runSearch(true);
    return true;
  }
  sync();
  /* Checkpoints, so that a zoomed drawing replays only the rows of its window: every `every`
   * rows, each lane's open boxes (node, start, samples before it) and, filled in when each box
   * closes later in the same walk, its final end and samples. Made by the first whole walk over
   * a tree (sync() drops them with the tree); about a million numbers at most. */
  var ck = null;
  function checkpoints() {
    var nl = lanes.length, laneOff = new Int32Array(nl + 1), li;
    for (li = 0; li < nl; li++) laneOff[li + 1] = laneOff[li] + lanes[li].depth;
    var sumD = Math.max(1, laneOff[nl]), every = Math.max(256, Math.ceil(n * sumD / 262144)), nc = Math.ceil(n / every);
    return {D: D, every: every, count: nc, laneOff: laneOff, sumD: sumD, done: false,
            top: new Int32Array(nc * nl), lastT: new Float64Array(nc * nl), cum: new Float64Array(nc * nl),
            node: new Int32Array(nc * sumD), start: new Float64Array(nc * sumD), cum0: new Float64Array(nc * sumD),
            end: new Float64Array(nc * sumD), k: new Float64Array(nc * sumD),
            since: new Int32Array(nl * MAX_DEPTH).fill(-1)};  /* per lane and depth: first checkpoint of its open box */
  }
  /* emit(laneIndex, depth, node, start, end, samples) for every box; with a window [v0, v1)
   * (after one whole walk) only for the boxes of the rows from the checkpoint before v0 to the
   * one after v1: a superset of the boxes that overlap the window, with their true ends. */
  function walk(emit, v0, v1, dLo, dHi) {  /* dLo, dHi: per lane, only the depths in [dLo, dHi) (not while building) */
    sync();
    var nl = lanes.length, C = ck && ck.D === D && ck.done ? ck : null, build = !C, r0 = 0, r1 = n, c1 = -1, li, d, e;
    var st = lanes.map(function () {
      return {node: new Int32Array(MAX_DEPTH), start: new Float64Array(MAX_DEPTH), cum0: new Float64Array(MAX_DEPTH),
              top: 0, lastT: -Infinity, cum: 0};
    });
    if (build) ck = C = checkpoints();
    else if (v0 !== undefined && C.count > 1) {
      var every = C.every, margin = (TL.bin > 0 ? TL.bin : 0) + interval, c0 = 0;
      /* boxes closed before checkpoint c end by its row's time + one bin: before v0 when that is early enough */
      while (c0 + 1 < C.count && time[(c0 + 1) * every] <= v0 - margin) c0++;
      for (var c = c0 + 1; c < C.count; c++) if (time[c * every] >= v1) { c1 = c; break; }
      st.forEach(function (L, li2) {
        var o = c0 * nl + li2, b = c0 * C.sumD + C.laneOff[li2];
        L.top = C.top[o]; L.lastT = C.lastT[o]; L.cum = C.cum[o];
        L.node.set(C.node.subarray(b, b + L.top)); L.start.set(C.start.subarray(b, b + L.top)); L.cum0.set(C.cum0.subarray(b, b + L.top));
      });
      r0 = c0 * every; r1 = c1 >= 0 ? c1 * every : n;
    }
    var taken = 0;  /* checkpoints taken so far (building) */
    function close(li3, d3, L, end) {  /* a box ends: to emit, and its checkpoints learn its end */
      var kk = L.cum - L.cum0[d3];
      if (build) {
        var si = li3 * MAX_DEPTH + d3, c3 = C.since[si];
        if (c3 >= 0) {
          for (; c3 < taken; c3++) { e = c3 * C.sumD + C.laneOff[li3] + d3; C.end[e] = end; C.k[e] = kk; }
          C.since[si] = -1;
        }
      }
      emit(li3, d3, L.node[d3], L.start[d3], end, kk);
    }
    var par = D.parent, dep = D.depth, lim = 1.5 * interval, x, y;
    for (var r = r0; r < r1; r++) {
      if (build && r % C.every === 0) {  /* a checkpoint: the open boxes before row r */
        for (li = 0; li < nl; li++) {
          var P = st[li], o = taken * nl + li, b = taken * C.sumD + C.laneOff[li];
          C.top[o] = P.top; C.lastT[o] = P.lastT; C.cum[o] = P.cum;
          C.node.set(P.node.subarray(0, P.top), b); C.start.set(P.start.subarray(0, P.top), b); C.cum0.set(P.cum0.subarray(0, P.top), b);
          for (d = 0; d < P.top; d++) if (C.since[li * MAX_DEPTH + d] < 0) C.since[li * MAX_DEPTH + d] = taken;
        }
        taken++;
      }
      li = laneOf[thread[r]];
      var L = st[li], s = chartT[r], leaf = node[r];
      while (dep[leaf] >= MAX_DEPTH) leaf = par[leaf];
      var contig = s - L.lastT <= lim, keep = 0;
      if (contig && L.top > 0) {  /* the deepest frame this sample shares with the open boxes */
        x = leaf; y = L.node[L.top - 1];
        while (dep[x] > dep[y]) x = par[x];
        while (dep[y] > dep[x]) y = par[y];
        while (x !== y) { x = par[x]; y = par[y]; }
        keep = x >= 0 ? dep[x] + 1 : 0;
      }
      var end = contig ? s : L.lastT + interval;
      if (build) for (d = L.top - 1; d >= keep; d--) close(li, d, L, end);
      else {
        var lo = dLo ? Math.max(keep, dLo[li]) : keep;
        for (d = Math.min(L.top, dHi ? dHi[li] : L.top) - 1; d >= lo; d--) emit(li, d, L.node[d], L.start[d], end, L.cum - L.cum0[d]);
      }
      for (x = leaf; x >= 0 && dep[x] >= keep; x = par[x]) { d = dep[x]; L.node[d] = x; L.start[d] = s; L.cum0[d] = L.cum; }
      L.top = dep[leaf] + 1;
      L.cum += count ? count[r] : 1;
      L.lastT = s;
    }
    st.forEach(function (L, li4) {
      if (c1 < 0) { for (d = L.top - 1; d >= 0; d--) close(li4, d, L, L.lastT + interval); return; }
      for (d = L.top - 1; d >= 0; d--) {  /* open at checkpoint c1: their ends are known */
        e = c1 * C.sumD + C.laneOff[li4] + d;
        emit(li4, d, L.node[d], L.start[d], C.end[e], C.k[e]);
      }
    });
    if (build) C.done = true;
  }

  /* ---- the section ---- */
  var sec = el('section', 'fk-card fk-timeline'); sec.id = 'timeline';
  var h2 = el('h2', null, 'Time order');
  h2.appendChild(el('span', 'fk-sub', samplesText(TL.samples) + ' over ' + fmt(tMax - tMin, 'seconds') +
    (lanes.length > 1 ? ' in ' + lanes.length + ' threads' : '')));
  sec.appendChild(h2);
  var notes = [];
  if (TL.note) notes.push('Sample times: ' + TL.note + '.');
  if (TL.bin > 0) notes.push('Samples are summed in bins of ' + fmt(TL.bin, 'seconds') + ' (' +
    TL.total.toLocaleString('en-US') + ' samples): the range filter works to one bin.');
  if (TL.capped) notes.push('Too many samples to embed: the time order stops at ' + TL.capped.until.toFixed(2) +
    ' s (' + TL.samples.toLocaleString('en-US') + ' of ' + TL.total.toLocaleString('en-US') + ' samples); the flame graph and tables without a range cover all of them.');
  if (notes.length) { var nt = el('p', 'fk-note', notes.join(' ')); nt.id = 'fk-tl-note'; sec.appendChild(nt); }
  sec.appendChild(el('p', 'fk-tl-help', 'Drag across the strip below (or the resource timeline) to filter the flame graph, ' +
    'hotspots and tables to a time range. In the chart: click a frame to zoom to it, Ctrl+wheel to zoom, Shift+wheel to pan.'));
  var bar = el('div', 'fk-toolbar');
  function labelled(text, ctl) { var l = el('label', 'fk-ctl'); l.appendChild(el('span', null, text)); l.appendChild(ctl); return l; }
  var search = el('input'); search.id = 'fk-tl-search'; search.type = 'search'; search.spellcheck = false;
  search.placeholder = 'Search functions';
  var regex = el('input'); regex.id = 'fk-tl-regex'; regex.type = 'checkbox';
  bar.appendChild(labelled('Search', search)); bar.appendChild(labelled('regex', regex));
  var matchCount = el('span', 'fk-match-count'); matchCount.id = 'fk-tl-match-count'; bar.appendChild(matchCount);
  function button(id, text, title, fn) {
    var b = el('button', 'fk-btn', text); b.id = id; b.type = 'button'; b.title = title;
    b.addEventListener('click', fn); bar.appendChild(b); return b;
  }
  button('fk-tl-zoom-in', '+', 'Zoom in', function () { zoomBy(0.5, 0.5); });
  button('fk-tl-zoom-out', '\u2212', 'Zoom out', function () { zoomBy(2, 0.5); });
  button('fk-tl-reset', 'Reset zoom', 'Show the whole time span', function () { zoom(tMin, tMax); });
  var chipT = el('span', 'fk-range-chip'); chipT.hidden = true; bar.appendChild(chipT);
  sec.appendChild(bar);
  var ovWrap = el('div', 'fk-tl-overview-wrap');
  var ov = el('canvas', 'fk-tl-overview'); ov.id = 'fk-tl-overview'; ovWrap.appendChild(ov);
  sec.appendChild(ovWrap);
  var wrap = el('div', 'fk-canvas-wrap fk-tl-wrap');
  var cv = el('canvas', 'fk-canvas'); cv.id = 'fk-tl-canvas'; cv.setAttribute('role', 'img');
  cv.setAttribute('aria-label', 'Flame chart: time across, callers on top');
  wrap.appendChild(cv); sec.appendChild(wrap);
  var tip = el('div', 'fk-tooltip'); tip.id = 'fk-tl-tooltip'; tip.hidden = true; document.body.appendChild(tip);
  var fg = $('flamegraph');
  fg.parentNode.insertBefore(sec, fg.nextSibling);
  var nav = document.querySelector('.fk-nav');
  if (nav) {
    var a = el('a', null, 'Time order'); a.href = '#timeline';
    var after = nav.querySelector('a[href="#flamegraph"]');
    nav.insertBefore(a, after ? after.nextSibling : null);
  }
  /* the chip on the flame graph's card: what the graph and tables are filtered to */
  var chip = el('div', 'fk-range-chip'); chip.id = 'fk-range-chip'; chip.hidden = true;
  var chipText = el('span'); chip.appendChild(chipText);
  var chipReset = el('button', 'fk-btn fk-range-reset', 'Reset range'); chipReset.type = 'button'; chipReset.id = 'fk-range-reset';
  chipReset.title = 'Show the whole profile again';
  chipReset.addEventListener('click', function () { reset(); });
  chip.appendChild(chipReset);
  var graphEl = $('fk-graph');
  graphEl.parentNode.insertBefore(chip, graphEl);

  function samplesText(k) { return k.toLocaleString('en-US') + ' sample' + (k === 1 ? '' : 's'); }

  /* ---- search ---- */
  var match = null;
  function runSearch(quiet) {
    var p = search.value;
    matchCount.classList.remove('fk-bad');
    if (!p) { match = null; matchCount.textContent = ''; if (!quiet) draw(); return; }
    var test;
    if (regex.checked) {
      var rx;
      try { rx = new RegExp(p); } catch (e) { match = null; matchCount.textContent = 'invalid regex'; matchCount.classList.add('fk-bad'); if (!quiet) draw(); return; }
      test = function (s) { return rx.test(s); };
    } else test = function (s) { return s.indexOf(p) >= 0; };
    var fm = new Uint8Array(D.names.length), k, hits = 0;
    for (k = 0; k < fm.length; k++) fm[k] = test(D.names[k]) ? 1 : 0;
    match = new Uint8Array(D.n);
    for (k = 0; k < D.n; k++) match[k] = fm[D.frame[k]];
    var m0 = match;
    walk(function (li, d, nd) { if (m0[nd]) hits++; });
    matchCount.textContent = hits + ' matching frame' + (hits === 1 ? '' : 's') + ' in time';
    matchCount.setAttribute('data-count', String(hits));
    if (!quiet) draw();
  }
  search.addEventListener('input', function () { runSearch(false); });
  regex.addEventListener('change', function () { runSearch(false); });

  /* ---- drawing ---- */
  /* the chart's and the strip's widths, read once and when they change (ResizeObserver, resize):
     a read in draw() would force the page to lay out at once all that a range just changed
     (tables, call tree), which the browser otherwise does once for the next frame, and not at
     all for the sections out of sight */
  var widths = null;
  function measure() {
    var old = widths;
    widths = {chart: Math.max(200, wrap.clientWidth || 1000), strip: Math.max(200, ovWrap.clientWidth || 1000)};
    box.h = wrap.clientHeight; box.top = wrap.scrollTop;
    return !old || old.chart !== widths.chart || old.strip !== widths.strip;
  }
  var view = {t0: tMin, t1: tMax}, hits = [], range = null, W = 0, fullView = null, scratch = null;
  /* the flame graph's colour of each node as one RGBA pixel (little-endian: 0xAABBGGRR), cached per search */
  var colors = null, colorsFor;
  function pixelOf(nd) {
    if (colorsFor !== match || !colors) { colors = new Uint32Array(D.n); colorsFor = match; }
    var p = colors[nd];
    if (p === 0) {
      var css = g.colorOf({frame: D.frame, src: null}, nd, match ? !!match[nd] : false, !!match), r = 128, gg = 128, b = 128, m;
      if ((m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(css))) { r = parseInt(m[1], 16); gg = parseInt(m[2], 16); b = parseInt(m[3], 16); }
      else if ((m = /^rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)/.exec(css))) { r = +m[1]; gg = +m[2]; b = +m[3]; }
      p = colors[nd] = ((255 << 24) | (Math.round(b) << 16) | (Math.round(gg) << 8) | Math.round(r)) >>> 0;
    }
    return p;
  }
  /* Paint every box of the time window [v0, v1) into an ImageData (a profile has hundreds of
   * thousands: one fillRect with its own fillStyle each costs seconds). place(lane, depth) -> y
   * in CSS px (or -1: not shown); rows are rowCss high; a box narrower than a pixel leaves one
   * mark per pixel column, lane and depth; drawn(lane, depth, node, start, end, samples, x, w, y)
   * hears of each painted box. */
  function paintBoxes(img, dpr, cssW, v0, v1, rowCss, place, drawn, dLo, dHi) {
    var PW = img.width, PH = img.height, px32 = new Uint32Array(img.data.buffer), sc = cssW / (v1 - v0);
    var lastPx = new Float64Array(lanes.length * MAX_DEPTH).fill(-1);
    var rowH = Math.max(1, Math.round((rowCss >= 8 ? rowCss - 1 : rowCss) * dpr));  /* a 1 px gap between readable rows */
    walk(function (li, d, nd, s, e, k) {
      if (e <= v0 || s >= v1) return;
      var by = place(li, d);
      if (by < 0) return;
      var x = (s - v0) * sc, w = (e - s) * sc, slot = li * MAX_DEPTH + d;
      if (x < 0) { w += x; x = 0; }
      if (x + w > cssW) w = cssW - x;
      if (w < 1) { if (Math.floor(x) <= lastPx[slot]) return; w = 1; }
      lastPx[slot] = Math.floor(x + w);
      var rgba = pixelOf(nd), xa = Math.round(x * dpr), xb = Math.max(xa + 1, Math.round((x + Math.max(w - 0.5, 0.5)) * dpr));
      var ya = Math.round(by * dpr), yb = Math.min(PH, ya + rowH), yy, o;
      if (xb > PW) xb = PW;
      if (xb - xa <= 8) { for (yy = ya; yy < yb; yy++) for (o = yy * PW + xa; o < yy * PW + xb; o++) px32[o] = rgba; }
      else for (yy = ya; yy < yb; yy++) px32.fill(rgba, yy * PW + xa, yy * PW + xb);
      if (drawn) drawn(li, d, nd, s, e, k, x, w, by);
    }, v0, v1, dLo, dHi);
  }
  /* A zoomed drawing paints first the rows in and next to the chart's scroll box (box: its
   * scrollTop and height, kept from scroll events and measure(): reading them would force a
   * layout), labels in the box only, then, once the page is idle after that frame, every row
   * and label (paintRest). Scrolling the chart, hovering, or drawn() paints them all at once. */
  var box = {top: 0, h: 0}, drawSeq = 0, partial = null;
  wrap.addEventListener('scroll', function () {
    box.top = wrap.scrollTop;
    paintRest();  /* scrolled before the rest was painted: paint it now */
  }, {passive: true});
  function paintRest() { if (partial) { partial = null; draw(true); } }
  function draw(all) {
    sync();
    var dpr = window.devicePixelRatio || 1, y = 0, seq = ++drawSeq;
    var H = 0, laneY = [];
    lanes.forEach(function (L) { laneY.push(H + LANE_HEAD); H += LANE_HEAD + L.depth * ROW + 4; });
    H = Math.max(H, 40);
    if (!widths) { cv.style.height = H + 'px'; measure(); }  /* first: with the chart's height (its scroll bar) */
    var cssW = W = widths.chart;
    cv.style.width = cssW + 'px'; cv.style.height = H + 'px';
    if (cv.width !== Math.round(cssW * dpr) || cv.height !== Math.round(H * dpr)) {  /* a new size: a new bitmap */
      cv.width = Math.round(cssW * dpr); cv.height = Math.round(H * dpr); cv.fkFont = null;
    }
    partial = null;
    var c = cv.getContext('2d');
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.clearRect(0, 0, cssW, H);
    /* the font is set once per bitmap: setting it makes the page resolve its styles first, all
       that a range just changed included */
    if (cv.fkFont !== FONT) { c.font = FONT; cv.fkFont = FONT; cv.fkCharW = c.measureText('MMMMMMMMMM').width / 10 || 7; }
    c.textBaseline = 'middle';
    var charW = cv.fkCharW, v0 = view.t0, v1 = view.t1, sc = cssW / (v1 - v0);
    var PW = cv.width, PH = cv.height, img, labels, y0 = 0, y1 = H;
    /* the whole span's drawing is kept (per tree, width, search): a range's reset puts it back */
    var whole = v0 <= tMin && v1 >= tMax, fv = fullView;
    if (whole && fv && fv.D === D && fv.PW === PW && fv.PH === PH && fv.match === match && fv.charW === charW) {
      img = fv.img; labels = fv.labels; hits = fv.hits;
    } else {
      /* a zoomed view paints into one kept buffer (a new 10 MB one each time costs its page faults) */
      if (whole) img = c.createImageData(PW, PH);
      else {
        if (!scratch || scratch.width !== PW || scratch.height !== PH) scratch = c.createImageData(PW, PH);
        else new Uint32Array(scratch.data.buffer).fill(0);
        img = scratch;
      }
      labels = [];
      hits = lanes.map(function (L) { var r = []; for (var d = 0; d < L.depth; d++) r.push([]); return r; });
      var dLo = null, dHi = null, ly0 = 0, ly1 = H;  /* labels: in the scroll box only, until the rest is painted */
      if (!whole && !all && box.h > 0 && H > 3 * box.h) {  /* the scroll box and half its height either side */
        y0 = Math.max(0, box.top - box.h / 2); y1 = Math.min(H, box.top + 1.5 * box.h); ly0 = box.top; ly1 = box.top + box.h;
        dLo = new Int32Array(lanes.length); dHi = new Int32Array(lanes.length);
        lanes.forEach(function (L, li) {
          dLo[li] = Math.max(0, Math.floor((y0 - laneY[li]) / ROW)); dHi[li] = Math.max(0, Math.min(L.depth, Math.ceil((y1 - laneY[li]) / ROW)));
        });
        partial = {seq: seq, y0: y0, y1: y1};
        var rest = function () { if (partial && partial.seq === seq) paintRest(); };  /* when the page is idle after that frame */
        if (window.requestIdleCallback) requestIdleCallback(rest, {timeout: 250});
        else requestAnimationFrame(function () { setTimeout(rest, 0); });
      }
      paintBoxes(img, dpr, cssW, v0, v1, ROW, function (li, d) { return laneY[li] + d * ROW; },
        function (li, d, nd, s, e, k, x, w, by) {
          hits[li][d].push(x, w, nd, s, e, k);
          if (w > charW * 3 + 6 && by + ROW > ly0 && by < ly1) labels.push(nd, x, w, by);
        }, dLo, dHi);
      if (whole) fullView = {D: D, PW: PW, PH: PH, match: match, charW: charW, img: img, labels: labels, hits: hits};
    }
    if (partial) c.putImageData(img, 0, 0, 0, Math.floor(y0 * dpr), PW, Math.ceil((y1 - y0) * dpr));
    else c.putImageData(img, 0, 0);
    lanes.forEach(function (L, li) {  /* lane headings over the pixels */
      var tn = D.threadNames[L.thread] || 'thread', tid = D.p.threads.id[L.thread];
      c.fillStyle = '#eef0f3'; c.fillRect(0, laneY[li] - LANE_HEAD, cssW, LANE_HEAD - 2);
      c.fillStyle = '#1b1b1b';
      c.fillText(tn + (tid !== undefined ? ' (tid ' + tid + ')' : ''), 4, laneY[li] - LANE_HEAD + (LANE_HEAD - 2) / 2);
    });
    c.fillStyle = '#1b1b1b';
    for (var j = 0; j < labels.length; j += 4) {
      var name = D.names[D.frame[labels[j]]], max = Math.floor((labels[j + 2] - 6) / charW);
      c.fillText(name.length > max ? name.slice(0, Math.max(max - 1, 1)) + '\u2026' : name, labels[j + 1] + 3, labels[j + 3] + ROW / 2);
    }
    hits.laneY = laneY;
    if (range) {  /* shade what is outside the range */
      c.fillStyle = 'rgba(31, 36, 48, 0.18)';
      var a = (range.lo - v0) * sc, b = (range.hi - v0) * sc;
      if (a > 0) c.fillRect(0, 0, Math.min(a, cssW), H);
      if (b < cssW) c.fillRect(Math.max(b, 0), 0, cssW - Math.max(b, 0), H);
    }
    void y;
    drawOverview();
  }

  /* the overview: samples per pixel column over the whole span, the range and the zoomed window */
  var OV_H = 56, OV_L = 0, mini = null;
  function drawOverview() {
    if (!widths) measure();
    var dpr = window.devicePixelRatio || 1, cssW = widths.strip, B = 14;
    ov.style.width = cssW + 'px'; ov.style.height = OV_H + 'px';
    if (ov.width !== Math.round(cssW * dpr) || ov.height !== Math.round(OV_H * dpr)) {  /* else: keep the bitmap and font */
      ov.width = Math.round(cssW * dpr); ov.height = Math.round(OV_H * dpr); ov.fkFont = null;
    }
    var c = ov.getContext('2d');
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.clearRect(0, 0, cssW, OV_H);
    var sc = cssW / (tMax - tMin), band = OV_H - B - 2;
    /* a miniature of the whole chart: every lane, its first rows, cached per width and search */
    if (!mini || mini.w !== cssW || mini.dpr !== dpr || mini.match !== match) {
      var img = c.createImageData(ov.width, ov.height), laneH = band / Math.max(1, lanes.length), deepest = 1;
      lanes.forEach(function (L) { if (L.depth > deepest) deepest = L.depth; });
      var k = Math.max(1, Math.min(deepest, Math.floor(laneH / 3))), rh = laneH / k;  /* the outer frames, 3 px or more a row */
      paintBoxes(img, dpr, cssW, tMin, tMax, rh, function (li, d) { return d < k ? 1 + li * laneH + d * rh : -1; }, null);
      mini = {w: cssW, dpr: dpr, match: match, img: img};
    }
    c.fillStyle = '#f7f8fa'; c.fillRect(0, 0, cssW, OV_H - B);
    var tmp = mini.img;
    c.putImageData(tmp, 0, 0, 0, 0, ov.width, Math.round((OV_H - B) * dpr));
    var endL = secs(tMax) + ' s';
    if (ov.fkFont !== endL) { c.font = '10px system-ui, sans-serif'; ov.fkFont = endL; ov.fkEndW = c.measureText(endL).width; }
    c.fillStyle = '#5f6773'; c.textBaseline = 'top';
    c.fillText(secs(tMin) + ' s', 2, OV_H - B + 2);
    c.fillText(endL, cssW - 2 - ov.fkEndW, OV_H - B + 2);
    if (range) {  /* outside the range: veiled */
      c.fillStyle = 'rgba(244, 245, 247, 0.75)';
      var a = (range.lo - tMin) * sc, b = (range.hi - tMin) * sc;
      c.fillRect(0, 0, Math.max(0, a), OV_H - B); c.fillRect(b, 0, Math.max(0, cssW - b), OV_H - B);
    }
    if (view.t0 > tMin || view.t1 < tMax) {
      c.strokeStyle = '#1971c2'; c.lineWidth = 1.5;
      c.strokeRect((view.t0 - tMin) * sc + 0.75, 0.75, Math.max(2, (view.t1 - view.t0) * sc - 1.5), OV_H - B - 1.5);
    }
    ov.fkAxis = {left: OV_L, right: cssW, t0: tMin, t1: tMax};
  }

  function zoom(a, b) {
    var minSpan = Math.max(interval, 1e-6);
    if (b - a < minSpan) { var mid = (a + b) / 2; a = mid - minSpan / 2; b = mid + minSpan / 2; }
    view.t0 = Math.max(tMin, a); view.t1 = Math.min(tMax, b);
    if (!(view.t1 > view.t0)) { view.t0 = tMin; view.t1 = tMax; }
    cv.setAttribute('data-view', view.t0 + ' ' + view.t1);
    draw();
  }
  function zoomBy(f, at) {
    var span = view.t1 - view.t0, c = view.t0 + at * span, ns = Math.min(span * f, tMax - tMin);
    zoom(c - at * ns, c - at * ns + ns);
  }

  /* ---- hit testing, tooltip, click to zoom, wheel ---- */
  function hitAt(ev) {  /* the drawn box under the mouse: {lane, d, node, start, end, samples} */
    paintRest();
    var r = cv.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top;
    for (var l = 0; l < hits.length; l++) {
      var d = Math.floor((y - hits.laneY[l]) / ROW), row = hits[l][d];
      if (d < 0 || !row) continue;
      for (var k = 0; k < row.length; k += 6) {
        if (x >= row[k] && x < row[k] + row[k + 1]) {
          return {lane: lanes[l], d: d, node: row[k + 2], start: row[k + 3], end: row[k + 4], samples: row[k + 5]};
        }
      }
    }
    return null;
  }
  function showTip(h, ev) {
    var f = D.frame[h.node], s = h.start, e = h.end;
    while (tip.firstChild) tip.removeChild(tip.firstChild);
    tip.appendChild(el('div', 'fk-tip-name', D.names[f] || '(empty name)'));
    if (D.files[f]) tip.appendChild(el('div', 'fk-tip-file', D.files[f] + (D.lines[f] ? ':' + D.lines[f] : '')));
    var rows = [['From', s.toFixed(3) + ' s to ' + e.toFixed(3) + ' s'], ['Duration', fmt(e - s, 'seconds')],
                ['Samples', samplesText(h.samples)], ['Thread', D.threadNames[h.lane.thread] || 'thread']];
    var tbl = el('table');
    rows.forEach(function (r) { var tr = el('tr'); tr.appendChild(el('th', null, r[0])); tr.appendChild(el('td', null, r[1])); tbl.appendChild(tr); });
    tip.appendChild(tbl);
    tip.hidden = false;
    var x = ev.clientX + 14, y = ev.clientY + 14, w = tip.offsetWidth, hh = tip.offsetHeight;
    if (x + w > window.innerWidth - 4) x = Math.max(4, ev.clientX - w - 14);
    if (y + hh > window.innerHeight - 4) y = Math.max(4, ev.clientY - hh - 14);
    tip.style.left = (x + window.scrollX) + 'px'; tip.style.top = (y + window.scrollY) + 'px';
  }
  cv.addEventListener('mousemove', function (ev) {
    var h = hitAt(ev);
    if (!h) { tip.hidden = true; cv.style.cursor = 'default'; return; }
    cv.style.cursor = 'pointer'; showTip(h, ev);
  });
  cv.addEventListener('mouseleave', function () { tip.hidden = true; });
  cv.addEventListener('click', function (ev) {
    var h = hitAt(ev);
    if (!h) return;
    zoom(h.start, h.end);
  });
  cv.addEventListener('wheel', function (ev) {
    if (!ev.ctrlKey && !ev.metaKey && !ev.shiftKey) return;  /* plain wheel scrolls the page */
    ev.preventDefault();
    var r = cv.getBoundingClientRect(), at = Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width));
    var dlt = ev.deltaY || ev.deltaX;
    if (ev.shiftKey) {
      var span = view.t1 - view.t0, sh = span * 0.1 * (dlt > 0 ? 1 : -1);
      sh = Math.max(tMin - view.t0, Math.min(tMax - view.t1, sh));
      zoom(view.t0 + sh, view.t1 + sh);
    } else zoomBy(dlt > 0 ? 1.25 : 0.8, at);
  }, {passive: false});

  /* ---- the range filter ---- */
  var cut = null;  /* the rows of the range, in the current tree's nodes: {data, sel} */
  fk.sampleRange = function (data) {
    if (!range || data !== g.data) return null;
    if (!cut || cut.data !== data || cut.range !== range) {
      sync();
      var a = range.first, b = range.end;
      cut = {data: data, range: range, sel: {node: node.subarray(a, b), thread: thread.subarray(a, b),
                                            values: values.map(function (v) { return v.subarray(a, b); }),
                                            lnode: lnode ? lnode.subarray(a, b) : null}};
    }
    return cut.sel;
  };
  function setRange(lo, hi) {
    if (!(hi > lo)) { reset(); return; }
    var a = lowerBound(lo), b = lowerBound(hi);
    range = {lo: lo, hi: hi, first: a, end: b, samples: samplesIn(a, b)};
    fk.rangeKey = lo + ':' + hi;
    var txt = 'range: ' + lo.toFixed(2) + '\u2013' + hi.toFixed(2) + ' s, ' + samplesText(range.samples) +
      (TL.bin > 0 ? ' (to one ' + fmt(TL.bin, 'seconds') + ' bin)' : '');
    range.text = txt;
    chipText.textContent = txt; chipT.textContent = txt;
    chip.hidden = false; chipT.hidden = false;
    chip.setAttribute('data-lo', String(lo)); chip.setAttribute('data-hi', String(hi));
    chip.setAttribute('data-samples', String(range.samples)); chip.setAttribute('data-rows', String(b - a));
    api.range = range;
    g.recompute(); g.changed();
    zoom(lo, hi);
    drawSelections();
  }
  function reset() {
    range = null; api.range = null; fk.rangeKey = '';
    chip.hidden = true; chipT.hidden = true;
    ['data-lo', 'data-hi', 'data-samples', 'data-rows'].forEach(function (k) { chip.removeAttribute(k); });
    g.recompute(); g.changed();
    zoom(tMin, tMax);
    drawSelections();
  }

  /* hotspots in the range: the top functions by self, from the filtered flame graph (report.js asks) */
  fk.rangeHotspots = function (gr, functionRows) {
    if (!range || gr !== g) return null;
    sync();
    var rows = [], bySelf = function (x, y) { return (y.self - x.self) || (x.func - y.func); };
    functionRows(gr).forEach(function (r) {  /* the first 15 by self, kept in order (no sort of every row) */
      if (r.self === 0 || (rows.length === 15 && bySelf(r, rows[14]) >= 0)) return;
      var at = rows.length;
      while (at > 0 && bySelf(r, rows[at - 1]) < 0) at--;
      rows.splice(at, 0, r);
      if (rows.length > 15) rows.pop();
    });
    var v = gr.view, want = new Map(), k, fn;
    rows.forEach(function (r) { want.set(r.func, -1); });
    for (k = 0; k < D.n; k++) {  /* each row's node of the largest self (its path is shown) */
      if (v.self[k] === 0) continue;
      var b = want.get(fn = D.func[D.frame[k]]);
      if (b !== undefined && (b < 0 || Math.abs(v.self[k]) > Math.abs(v.self[b]))) want.set(fn, k);
    }
    var best = {};
    want.forEach(function (nd, f) { best[f] = nd; });
    var out = rows.map(function (r) {
      var path = [], nd = best[r.func], f = D.frame[nd];
      for (var q = nd; q >= 0; q = D.parent[q]) path.unshift(D.names[D.frame[q]]);
      return {name: r.name, file: r.file, line: D.lines[f], self: r.self, total: r.total, selfPct: r.selfPct,
              totalPct: r.totalPct, path: path.slice(-40), pathCut: Math.max(0, path.length - 40)};
    });
    var thr = gr.thread < 0 ? 'all threads' : (D.threadNames[gr.thread] || 'thread');
    return {rows: out, note: ' in ' + range.lo.toFixed(2) + '\u2013' + range.hi.toFixed(2) + ' s (' + thr +
      '; from the flame graph\'s tree: pruned frames count in "[other]")'};
  };

  /* ---- drag to select on the overview and on the resource charts ---- */
  var overlays = [];
  function selectable(canvas, clockOk, ownShading) {
    if (!canvas || !canvas.fkAxis) return;
    if (!clockOk) { canvas.title = 'The samples\' times are on another clock than this chart: select a range on the Time order strip'; return; }
    var host = canvas.parentNode;
    host.classList.add('fk-selectable');
    var band = el('div', 'fk-sel-band'); band.hidden = true; host.appendChild(band);
    canvas.classList.add('fk-drag');
    if (!ownShading) overlays.push({canvas: canvas, band: band});
    var startX = null;
    function tAt(ev) {
      var ax = canvas.fkAxis, r = canvas.getBoundingClientRect(), x = ev.clientX - r.left;
      var f = (x - ax.left) / (ax.right - ax.left);
      return ax.t0 + Math.min(1, Math.max(0, f)) * (ax.t1 - ax.t0);
    }
    canvas.addEventListener('mousedown', function (ev) {
      if (ev.button !== 0) return;
      ev.preventDefault();
      startX = tAt(ev);
      function move(e2) { var t = tAt(e2); placeBand(canvas, band, Math.min(startX, t), Math.max(startX, t)); }
      function up(e2) {
        document.removeEventListener('mousemove', move); document.removeEventListener('mouseup', up);
        var t = tAt(e2), lo = Math.min(startX, t), hi = Math.max(startX, t);
        startX = null;
        var ax = canvas.fkAxis, minT = 3 * (ax.t1 - ax.t0) / Math.max(1, ax.right - ax.left);
        if (hi - lo < minT) { if (!range) band.hidden = true; else drawSelections(); return; }
        setRange(lo, hi);
        if (ownShading) band.hidden = true;  /* the strip veils what is outside the range itself */
      }
      document.addEventListener('mousemove', move); document.addEventListener('mouseup', up);
    });
  }
  function placeBand(canvas, band, lo, hi) {
    var ax = canvas.fkAxis, k = (ax.right - ax.left) / (ax.t1 - ax.t0);
    var a = ax.left + (Math.max(lo, ax.t0) - ax.t0) * k, b = ax.left + (Math.min(hi, ax.t1) - ax.t0) * k;
    if (!(b > a)) { band.hidden = true; return; }
    band.hidden = false;
    band.style.left = (canvas.offsetLeft + a) + 'px'; band.style.width = (b - a) + 'px';
    band.style.top = canvas.offsetTop + 'px'; band.style.height = canvas.offsetHeight + 'px';
  }
  /* the bands over the resource charts: placed before the next frame (placing reads the charts'
     offsets, which would force a layout of all that just changed) */
  var bandsDue = false;
  function drawSelections() {
    if (bandsDue) return;
    bandsDue = true;
    requestAnimationFrame(function () {
      bandsDue = false;
      overlays.forEach(function (o) { if (range) placeBand(o.canvas, o.band, range.lo, range.hi); else o.band.hidden = true; });
    });
  }

  var api = fk.timeline = {setRange: setRange, reset: reset, range: null, rows: n, view: view, lanes: lanes,
    zoom: zoom, draw: draw,
    /* every drawn-or-not box of a function: [start, end, thread] (tests read the order of phases) */
    /* the widest drawn box of a function: {x, y} (viewport, its middle), start, end, samples; or null */
    drawn: function (name) {
      paintRest();
      var r = cv.getBoundingClientRect(), best = null;
      hits.forEach(function (lane, l) {
        lane.forEach(function (row, d) {
          for (var k = 0; k < row.length; k += 6) {
            if (D.names[D.frame[row[k + 2]]] !== name || (best && best.w >= row[k + 1])) continue;
            best = {x: r.left + row[k] + row[k + 1] / 2, y: r.top + hits.laneY[l] + d * ROW + ROW / 2, w: row[k + 1],
                    start: row[k + 3], end: row[k + 4], samples: row[k + 5]};
          }
        });
      });
      return best;
    },
    boxes: function (name) {
      var out = [];
      walk(function (li, d, nd, s, e) { if (D.names[D.frame[nd]] === name) out.push([s, e, lanes[li].thread]); });
      return out.sort(function (x, y) { return x[0] - y[0]; });
    }};

  draw();
  selectable(ov, true, true);
  var sameClock = TL.clock === 'recording';
  ['fk-cpu-chart', 'fk-rss-chart', 'fk-heap-chart'].forEach(function (id) {
    var c = $(id);
    if (c && c.fkAxis && !c.closest('[hidden]')) selectable(c, sameClock && id !== 'fk-heap-chart');
  });
  function resized() { if (measure()) { draw(); drawSelections(); } }
  if (window.ResizeObserver) { var ro = new ResizeObserver(resized); ro.observe(wrap); ro.observe(ovWrap); }
  window.addEventListener('resize', resized);
  /* report.js calls every view's update after each change: redraw when the tree was swapped */
  (fk.reportViews = fk.reportViews || []).push({name: 'timeline', update: function () { if (sync()) draw(); }});
  api.buildMs = performance.now() - T0;  /* decode, boxes, first drawing (benchmarks/timeline.py reads it) */
  state.timeline = api;
})();
