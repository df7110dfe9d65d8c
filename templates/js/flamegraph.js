/* flamekit flame graph: our own canvas renderer. Plain JavaScript, no bundler, no network.
 *
 * Entry point:  var api = flamekit.render(el, payload, options)
 *
 * PAYLOAD (version 1; defined once in flamekit/render/payload.py, "si" = index into strings):
 *   strings  [str]                       string table, strings[0] == ""
 *   frames   {name:[si], file:[si], line:[int], module:[si], kind:[si], func:[int], library:[0|1]}
 *            func = function id (same name, file, module, kind) used by search/sandwich/tables;
 *            library = 1 for standard library, site-packages and <frozen> frames (libraries.js)
 *   nodes    {parent:[int], frame:[int]} call tree, ROOT FIRST: parent[i] < i, -1 at a root
 *   samples  {node:[int], thread:[int], values:[[num per row] per type]}  (aggregated)
 *   types    {name:[si], unit:[si]}       threads {name:[si], id:[int], pid:[int]}
 *   defaultType int;  pruned {fraction, nodes, share:[per type], otherFrame, maxNodes,
 *            other: {node:[int], children:[int], frames:[int]}}  (per [other] node: the children
 *            of its parent it stands for, and all the frames merged into it; render/prune.py)
 *   diff     OPTIONAL {base:int, head:int}: differential mode (see below)
 *   inputs   OPTIONAL {frame:[int]}: several inputs as labelled roots; frame[k] is the frame of
 *            input k's root (its name is the input's label; -1 when the input had no samples)
 *
 * OPTIONS (all optional):
 *   id          prefix of every element id (default "fk"): #fk-canvas, #fk-breadcrumb,
 *               #fk-reset, #fk-search, #fk-regex, #fk-match-count, #fk-thread, #fk-type,
 *               #fk-orientation, #fk-tooltip, #fk-sandwich, #fk-sandwich-title,
 *               #fk-sandwich-callers, #fk-sandwich-callees, #fk-base-toggle (diff mode)
 *   type        sample type index shown first (default payload.defaultType)
 *   fixedType   hide the type selector (e.g. an allocation-only graph)
 *   orientation "flame" (root at the bottom, default) or "icicle"
 *   sandwich    false to leave out the sandwich view (default true)
 *   keyboard    false to ignore key presses (default true; only one graph per page should listen)
 *   onChange    function(api) called after every redraw caused by the user
 *   colorFor    function(info) -> CSS colour string, or null for the default colouring
 *   tooltipRows function(info) -> [[label, text], ...] rows appended to the tooltip
 *   legend      false to leave out the colour legend (default true; never in diff mode)
 *   info = {node, frame, func, name, file, line, kind, self, total, depth,
 *           base: {self, total} | null, head: {self, total} | null, grandTotal,
 *           input: index of the node's labelled input (-1 without inputs), inputTotal}
 *
 * COLOURS (the legend, #<id>-legend, lists those present): Python frames warm red-orange-yellow,
 * native (C/C++/Rust) yellow-olive, kernel orange-brown, a labelled input root slate blue,
 * "[other]" (pruned) grey, search matches magenta. Hue varies by name so neighbours differ.
 *
 * DIFF MODE (payload.diff = {base: b, head: h}, two type indices of one merged profile):
 *   widths come from the head type (or the base type after the "show base" toggle,
 *   key "b"); each frame is coloured by delta = head.total - base.total of its node,
 *   relative to max(|head.total|, |base.total|): red = grew, blue = shrank, pale = equal;
 *   the tooltip shows base, head and delta for self and total. Search, zoom,
 *   thread selector and sandwich work as usual (on the type whose widths are shown).
 *
 * Other entry points: flamekit.download(name, mime, text), flamekit.fmt(value, unit),
 * flamekit.el(tag, cls, text), flamekit.Data(payload) (decoded columns; export.js uses it).
 *
 * Safety: every untrusted string reaches the page through textContent, option.text or
 * canvas fillText only; never innerHTML; no URL is ever built from profile data.
 */
(function () {
  'use strict';
  var flamekit = window.flamekit = window.flamekit || {};
  flamekit.instances = flamekit.instances || {};

  var ROW = 18, FONT = '12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
  var MAX_ROWS = 800, LIST_MAX = 200;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  flamekit.el = el;

  function fmt(v, unit) {
    var a = Math.abs(v), s;
    if (unit === 'nanoseconds') {
      if (a >= 1e9) s = (v / 1e9).toFixed(2) + ' s';
      else if (a >= 1e6) s = (v / 1e6).toFixed(2) + ' ms';
      else if (a >= 1e3) s = (v / 1e3).toFixed(2) + ' µs';
      else s = v.toFixed(0) + ' ns';
      return s;
    }
    if (unit === 'microseconds') return fmt(v * 1e3, 'nanoseconds');
    if (unit === 'milliseconds') return fmt(v * 1e6, 'nanoseconds');
    if (unit === 'seconds') return fmt(v * 1e9, 'nanoseconds');
    if (unit === 'bytes') {
      if (a >= 1073741824) return (v / 1073741824).toFixed(2) + ' GiB';
      if (a >= 1048576) return (v / 1048576).toFixed(2) + ' MiB';
      if (a >= 1024) return (v / 1024).toFixed(1) + ' KiB';
      return v.toFixed(0) + ' B';
    }
    if (unit === 'megabytes') return v.toFixed(a >= 100 ? 0 : 2) + ' MB';
    s = Math.round(v) === v ? String(v) : v.toPrecision(4);
    return s + (unit && unit !== 'count' ? ' ' + unit : '');
  }
  flamekit.fmt = fmt;

  function pct(v, t) { return t ? (100 * v / t).toFixed(2) + '%' : '0%'; }

  /* colours by frame kind: one function so the flame graph and its legend agree (h1, h2 in [0,1)) */
  var INPUT_COLOR = '#9fb3c8', OTHER_COLOR = '#b8b8b8', MATCH_COLOR = '#d63fc6';
  function kindColor(kind, h1, h2) {
    if (kind === 'native') return 'rgb(' + Math.round(200 + 40 * h1) + ',' + Math.round(180 + 50 * h2) + ',90)';
    if (kind === 'kernel') return 'rgb(' + Math.round(220 + 30 * h1) + ',' + Math.round(120 + 40 * h2) + ',80)';
    return 'rgb(' + Math.round(225 + 30 * h1) + ',' + Math.round(110 + 120 * h2) + ',' + Math.round(40 + 30 * h1) + ')';
  }
  var KIND_LABELS = {python: 'Python', native: 'native (C, C++, Rust)', kernel: 'kernel',
                     jit: 'JIT-compiled', inlined: 'inlined', unknown: 'other'};

  function hash(s) {
    var h = 2166136261;
    for (var i = 0; i < s.length && i < 64; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
    return (h >>> 0) / 4294967296;
  }

  function Data(payload) {
    var S = payload.strings, F = payload.frames, i;
    this.p = payload;
    this.names = F.name.map(function (k) { return S[k]; });
    this.files = F.file.map(function (k) { return S[k]; });
    this.kinds = F.kind.map(function (k) { return S[k]; });
    this.lines = F.line;
    this.func = F.func;
    this.parent = payload.nodes.parent;
    this.frame = payload.nodes.frame;
    this.n = this.parent.length;
    this.depth = new Int32Array(this.n);
    for (i = 0; i < this.n; i++) {
      var q = this.parent[i];
      this.depth[i] = q >= 0 ? this.depth[q] + 1 : 0;
    }
    this.typeNames = payload.types.name.map(function (k) { return S[k]; });
    this.typeUnits = payload.types.unit.map(function (k) { return S[k]; });
    this.threadNames = payload.threads.name.map(function (k) { return S[k]; });
    var cc = new Int32Array(this.n + 1);
    for (i = 0; i < this.n; i++) if (this.parent[i] >= 0) cc[this.parent[i] + 1]++;
    for (i = 0; i < this.n; i++) cc[i + 1] += cc[i];
    var pos = cc.slice(0, this.n), kids = new Int32Array(Math.max(cc[this.n], 1));
    for (i = 0; i < this.n; i++) if (this.parent[i] >= 0) kids[pos[this.parent[i]]++] = i;
    this.kidStart = cc; this.kids = kids;
    this.roots = [];
    for (i = 0; i < this.n; i++) if (this.parent[i] < 0) this.roots.push(i);
    /* labelled inputs: inputOf[node] = the input whose root the node descends from (-1: none) */
    this.inputFrames = payload.inputs ? payload.inputs.frame : [];
    this.inputRoot = this.inputFrames.map(function () { return -1; });
    this.inputOf = new Int32Array(this.n).fill(-1);
    if (this.inputFrames.length) {
      for (i = 0; i < this.n; i++) {
        var pq = this.parent[i];
        if (pq >= 0) { this.inputOf[i] = this.inputOf[pq]; continue; }
        var k = this.inputFrames.indexOf(this.frame[i]);
        this.inputOf[i] = k;
        if (k >= 0) this.inputRoot[k] = i;
      }
    }
    var po = (payload.pruned && payload.pruned.other) || {node: [], children: [], frames: []};
    this.otherKids = {}; this.otherFrames = {};
    for (i = 0; i < po.node.length; i++) {
      this.otherKids[po.node[i]] = po.children[i]; this.otherFrames[po.node[i]] = po.frames[i];
    }
  }

  /* the label of a node: an [other] node of the main tree says how many frames it merges */
  Data.prototype.label = function (node, src) {
    var name = this.names[this.frame[node]];
    if (src >= 0 && this.otherFrames[src] !== undefined) {
      var k = this.otherFrames[src];
      return '[other] ' + k + ' smaller frame' + (k === 1 ? '' : 's');
    }
    return name;
  };

  /* self and total per node for one type and thread (-1: all threads) */
  Data.prototype.values = function (type, thread) {
    /* flamekit.sampleRange(data): the time filter's rows for this tree (timeline.js), else every sample */
    var s = (flamekit.sampleRange && flamekit.sampleRange(this)) || this.p.samples;
    var vals = s.values[type] || [], self = new Float64Array(this.n), i;
    for (i = 0; i < s.node.length; i++) {
      if (thread < 0 || s.thread[i] === thread) self[s.node[i]] += vals[i];
    }
    var total = Float64Array.from(self), width = new Float64Array(this.n);
    for (i = 0; i < this.n; i++) width[i] = Math.abs(self[i]);
    for (i = this.n - 1; i >= 0; i--) {
      var q = this.parent[i];
      if (q >= 0) { total[q] += total[i]; width[q] += width[i]; }
    }
    return {self: self, total: total, width: width};
  };

  /* ---- one drawable tree: {n, parent, frame, depth, width, self, total, kids...} ---- */
  function layout(t, names) {
    var n = t.n, x = new Float64Array(n), w = t.width, fr = t.frame, ks = t.kids, i, j, c, buf = [], small = [], zero = [];
    function byWidth(a, b) {  /* widest first, then by name: the same order on every redraw */
      return (w[b] - w[a]) || (names[fr[a]] < names[fr[b]] ? -1 : names[fr[a]] > names[fr[b]] ? 1 : a - b);
    }
    var roots = t.roots.slice().sort(byWidth), cum = 0;
    for (i = 0; i < roots.length; i++) { x[roots[i]] = cum; cum += w[roots[i]]; }
    /* children of a node, widest first from its left edge; those too narrow ever to be drawn
       (under 0.3 px of an 8192 px canvas zoomed to their parent: their subtrees keep their own
       intervals) after them in tree order, then those of zero width where the others end. A
       range, one thread or a wide parent (thousands of small callees) leaves most unsorted. */
    for (i = 0; i < n; i++) {
      var a = t.kidStart[i], b = t.kidStart[i + 1];
      if (b === a) continue;
      c = x[i];
      if (b - a === 1 || !(w[i] > 0)) { for (j = a; j < b; j++) x[ks[j]] = c; continue; }
      var tiny = w[i] * (0.3 / 8192), wk;
      buf.length = 0; small.length = 0; zero.length = 0;
      for (j = a; j < b; j++) { wk = w[ks[j]]; (wk >= tiny ? buf : wk > 0 ? small : zero).push(ks[j]); }
      if (buf.length > 1) buf.sort(byWidth);
      for (j = 0; j < buf.length; j++) { x[buf[j]] = c; c += w[buf[j]]; }
      for (j = 0; j < small.length; j++) { x[small[j]] = c; c += w[small[j]]; }
      for (j = 0; j < zero.length; j++) x[zero[j]] = c;
    }
    t.x = x; t.W = cum;
    return t;
  }

  function kidsCSR(n, parent) {
    var cc = new Int32Array(n + 1), i;
    for (i = 0; i < n; i++) if (parent[i] >= 0) cc[parent[i] + 1]++;
    for (i = 0; i < n; i++) cc[i + 1] += cc[i];
    var pos = cc.slice(0, n), kids = new Int32Array(Math.max(cc[n], 1)), roots = [];
    for (i = 0; i < n; i++) { if (parent[i] >= 0) kids[pos[parent[i]]++] = i; else roots.push(i); }
    return {kidStart: cc, kids: kids, roots: roots};
  }

  /* ---- canvas view of one tree ---- */
  function Canvas(wrap, id, owner) {
    this.owner = owner;
    this.canvas = el('canvas', 'fk-canvas');
    this.canvas.id = id;
    this.canvas.setAttribute('role', 'img');
    wrap.appendChild(this.canvas);
    this.ctx = this.canvas.getContext('2d');
    this.rows = [];
    this.zoom = -1;
    this.orientation = 'flame';
  }

  Canvas.prototype.draw = function (t) {
    var D = this.owner.data, names = D.names, canvas = this.canvas, ctx = this.ctx, i;
    this.t = t;
    var cssW = Math.max(200, canvas.parentNode.clientWidth || 1000);
    var z = this.zoom >= 0 && this.zoom < t.n ? this.zoom : -1;
    var x0 = z >= 0 ? t.x[z] : 0, span = z >= 0 ? t.width[z] : t.W, zd = z >= 0 ? t.depth[z] : 0;
    var scale = span > 0 ? cssW / span : 0;
    var onPath = {};
    for (i = z; i >= 0; i = t.parent[i]) onPath[i] = true;
    var maxDepth = 0, vis = [];
    for (i = 0; i < t.n; i++) {
      var w = t.width[i];
      if (w <= 0) continue;
      var d = t.depth[i], px, pw;
      if (onPath[i]) {
        px = 0; pw = cssW;            // the zoomed frame and its ancestors span the width
      } else if (d <= zd && z >= 0) {
        continue;
      } else {
        if (t.x[i] + w <= x0 || t.x[i] >= x0 + span) continue;
        px = (t.x[i] - x0) * scale; pw = w * scale;
        if (pw < 0.3) continue;
      }
      if (d >= MAX_ROWS) { this.capped = true; continue; }
      if (d > maxDepth) maxDepth = d;
      vis.push(i, px, pw);
    }
    var rows = t.n ? maxDepth + 1 : 1, cssH = rows * ROW + 2, dpr = window.devicePixelRatio || 1;
    canvas.style.width = cssW + 'px';
    canvas.style.height = cssH + 'px';
    if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {  /* else: keep the bitmap */
      canvas.width = Math.round(cssW * dpr);
      canvas.height = Math.round(cssH * dpr);
      canvas.fkFont = null;
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);
    if (canvas.fkFont !== FONT) {  /* once per bitmap: setting or measuring it resolves the page's styles */
      ctx.font = FONT; canvas.fkFont = FONT; canvas.fkCharW = ctx.measureText('MMMMMMMMMM').width / 10 || 7;
    }
    ctx.textBaseline = 'middle';
    var charW = canvas.fkCharW;
    this.rows = [];
    for (i = 0; i <= maxDepth; i++) this.rows.push([]);
    var matched = this.owner.matchNode, hasSearch = !!matched;
    for (var k = 0; k < vis.length; k += 3) {
      var node = vis[k], bx = vis[k + 1], bw = vis[k + 2], dep = t.depth[node];
      var y = this.orientation === 'icicle' ? dep * ROW : cssH - (dep + 1) * ROW;
      var fill = this.owner.colorOf(t, node, hasSearch && matched && t.src ? matched[t.src[node]] : false,
                                    hasSearch);
      ctx.fillStyle = fill;
      ctx.fillRect(bx, y, Math.max(bw - 0.5, 0.5), ROW - 1);
      this.rows[dep].push(node, bx, bw);
      if (bw > charW * 3 + 6) {
        var name = t.src ? D.label(node, t.src[node]) : names[t.frame[node]], max = Math.floor((bw - 6) / charW);
        var label = name.length > max ? name.slice(0, Math.max(max - 1, 1)) + '\u2026' : name;
        ctx.fillStyle = '#1b1b1b';
        ctx.fillText(label, bx + 3, y + ROW / 2);
      }
    }
    this.cssH = cssH;
    return vis.length / 3;
  };

  Canvas.prototype.hit = function (ev) {
    var r = this.canvas.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top;
    var dep = this.orientation === 'icicle' ? Math.floor(y / ROW) : Math.floor((this.cssH - y) / ROW);
    var row = this.rows[dep];
    if (!row) return -1;
    for (var i = 0; i < row.length; i += 3) if (x >= row[i + 1] && x < row[i + 1] + row[i + 2]) return row[i];
    return -1;
  };

  /* ---- the component ---- */
  function FlameGraph(root, payload, opts) {
    var self = this;
    this.opts = opts = opts || {};
    var id = this.id = opts.id || 'fk';
    this.data = new Data(payload);
    var D = this.data;
    this.diff = payload.diff || null;
    this.showBase = false;
    this.type = opts.type !== undefined ? opts.type : (this.diff ? this.diff.head : payload.defaultType);
    this.thread = -1;
    this.matchNode = null;
    this.sandwichFunc = -1;
    root.classList.add('fk-flamegraph');

    var bar = el('div', 'fk-toolbar');
    function labelled(text, ctl) { var l = el('label', 'fk-ctl'); l.appendChild(el('span', null, text)); l.appendChild(ctl); return l; }
    this.typeSel = el('select'); this.typeSel.id = id + '-type';
    D.typeNames.forEach(function (n, i) {
      var o = el('option', null, n + (D.typeUnits[i] ? ' (' + D.typeUnits[i] + ')' : '')); o.value = String(i);
      self.typeSel.appendChild(o);
    });
    this.typeSel.value = String(this.type);
    this.typeSel.addEventListener('change', function () { self.setType(+self.typeSel.value); });
    if (D.typeNames.length > 1 && !opts.fixedType && !this.diff) bar.appendChild(labelled('Sample type', this.typeSel));
    this.threadSel = el('select'); this.threadSel.id = id + '-thread';
    var all = el('option', null, 'All threads'); all.value = '-1'; this.threadSel.appendChild(all);
    D.threadNames.forEach(function (n, i) {
      var o = el('option', null, (n || 'thread') + ' (tid ' + payload.threads.id[i] + ')'); o.value = String(i);
      self.threadSel.appendChild(o);
    });
    this.threadSel.addEventListener('change', function () { self.setThread(+self.threadSel.value); });
    if (D.threadNames.length > 1) bar.appendChild(labelled('Thread', this.threadSel));
    this.searchBox = el('input'); this.searchBox.id = id + '-search'; this.searchBox.type = 'search';
    this.searchBox.placeholder = 'Search functions ( / )'; this.searchBox.spellcheck = false;
    this.regexBox = el('input'); this.regexBox.id = id + '-regex'; this.regexBox.type = 'checkbox';
    var runSearch = function () { self.search(self.searchBox.value, self.regexBox.checked); self.changed(); };
    this.searchBox.addEventListener('input', runSearch);
    this.regexBox.addEventListener('change', runSearch);
    bar.appendChild(labelled('Search', this.searchBox));
    bar.appendChild(labelled('regex', this.regexBox));
    this.matchCount = el('span', 'fk-match-count'); this.matchCount.id = id + '-match-count';
    bar.appendChild(this.matchCount);
    this.orientBtn = el('button', 'fk-btn', 'Icicle'); this.orientBtn.id = id + '-orientation';
    this.orientBtn.type = 'button'; this.orientBtn.title = 'Flip flame / icicle (i)';
    this.orientBtn.addEventListener('click', function () { self.toggleOrientation(); self.changed(); });
    bar.appendChild(this.orientBtn);
    if (this.diff) {
      this.baseBtn = el('button', 'fk-btn', 'Show base'); this.baseBtn.id = id + '-base-toggle';
      this.baseBtn.type = 'button'; this.baseBtn.title = 'Widths from the base profile (b)';
      this.baseBtn.addEventListener('click', function () { self.toggleBase(); self.changed(); });
      bar.appendChild(this.baseBtn);
    }
    this.resetBtn = el('button', 'fk-btn', 'Reset zoom'); this.resetBtn.id = id + '-reset';
    this.resetBtn.type = 'button'; this.resetBtn.title = 'Reset zoom (Esc)';
    this.resetBtn.addEventListener('click', function () { self.zoomTo(-1); self.changed(); });
    bar.appendChild(this.resetBtn);
    root.appendChild(bar);
    if (opts.legend !== false && !this.diff) this.renderLegend(root);

    this.crumbs = el('nav', 'fk-breadcrumb'); this.crumbs.id = id + '-breadcrumb';
    this.crumbs.setAttribute('aria-label', 'Zoom path');
    root.appendChild(this.crumbs);
    var wrap = el('div', 'fk-canvas-wrap');
    root.appendChild(wrap);
    this.main = new Canvas(wrap, id + '-canvas', this);
    this.main.orientation = opts.orientation === 'icicle' ? 'icicle' : 'flame';
    this.tip = el('div', 'fk-tooltip'); this.tip.id = id + '-tooltip'; this.tip.hidden = true;
    document.body.appendChild(this.tip);
    this.bindCanvas(this.main, true);

    if (opts.sandwich !== false) {
      var sw = this.sw = el('section', 'fk-sandwich'); sw.id = id + '-sandwich';
      this.swTitle = el('h3', 'fk-sandwich-title', 'Sandwich: click a frame to see its callers and callees');
      this.swTitle.id = id + '-sandwich-title';
      sw.appendChild(this.swTitle);
      var cols = el('div', 'fk-sandwich-lists');
      var c1 = el('div'), c2 = el('div');
      c1.appendChild(el('h4', null, 'Callers'));
      this.callersList = el('ol', 'fk-list'); this.callersList.id = id + '-sandwich-callers';
      c1.appendChild(this.callersList);
      c2.appendChild(el('h4', null, 'Callees'));
      this.calleesList = el('ol', 'fk-list'); this.calleesList.id = id + '-sandwich-callees';
      c2.appendChild(this.calleesList);
      cols.appendChild(c1); cols.appendChild(c2);
      sw.appendChild(cols);
      var w1 = el('div', 'fk-canvas-wrap'), w2 = el('div', 'fk-canvas-wrap');
      sw.appendChild(w1); sw.appendChild(w2);
      this.callersCanvas = new Canvas(w1, id + '-callers-canvas', this);
      this.callersCanvas.orientation = 'flame';
      this.calleesCanvas = new Canvas(w2, id + '-callees-canvas', this);
      this.calleesCanvas.orientation = 'icicle';
      this.bindCanvas(this.callersCanvas, false);
      this.bindCanvas(this.calleesCanvas, false);
      root.appendChild(sw);
    }
    if (opts.keyboard !== false) this.bindKeys();
    var last = 0;
    window.addEventListener('resize', function () {
      var w = root.clientWidth;
      if (w !== last) { last = w; self.redraw(); }
    });
    flamekit.instances[id] = this;
    this.recompute();
    if (this.sw) {  // start the sandwich on the function with the largest self value
      var best = -1, bv = 0;
      for (var i = 0; i < D.n; i++) if (Math.abs(this.view.self[i]) > bv) { bv = Math.abs(this.view.self[i]); best = i; }
      if (best >= 0) this.selectFunction(D.func[D.frame[best]]);
    }
  }

  FlameGraph.prototype.widthType = function () {
    return this.diff ? (this.showBase ? this.diff.base : this.diff.head) : this.type;
  };

  /* the values and layout of the whole profile (no time range: flamekit.sampleRange) are kept
     per tree for the last few types and threads: a range's reset, or going back to a thread,
     finds them made (the view object is kept too: what the views cache on it stays valid) */
  var MEMO = 4;
  FlameGraph.prototype.recompute = function (fresh) {  /* fresh: make them again (benchmarks) */
    var D = this.data, t = this.widthType(), whole = !(flamekit.sampleRange && flamekit.sampleRange(D));
    var key = t + ':' + this.thread, memo = D.memo || (D.memo = new Map()), m = whole && !fresh ? memo.get(key) : null;
    if (!m) {
      var v = D.values(t, this.thread);
      m = {view: v};
      if (this.diff) {
        m.baseV = D.values(this.diff.base, this.thread);
        m.headV = D.values(this.diff.head, this.thread);
      }
      var tree = {n: D.n, parent: D.parent, frame: D.frame, depth: D.depth, width: v.width,
                  self: v.self, total: v.total, kidStart: D.kidStart, kids: D.kids, roots: D.roots, src: null};
      var ident = new Int32Array(D.n);
      for (var i = 0; i < D.n; i++) ident[i] = i;
      tree.src = ident;
      m.tree = layout(tree, D.names);
      m.grand = 0;
      for (var r = 0; r < D.roots.length; r++) m.grand += v.total[D.roots[r]];
      if (whole) {
        memo.delete(key); memo.set(key, m);
        if (memo.size > MEMO) memo.delete(memo.keys().next().value);
      }
    }
    this.view = m.view; this.tree = m.tree; this.grand = m.grand;
    if (this.diff) { this.baseV = m.baseV; this.headV = m.headV; }
    this.grandAbs = this.tree.W;
    if (this.pattern !== undefined) this.search(this.pattern, this.regex);
    this.redraw();
  };

  FlameGraph.prototype.colorOf = function (t, node, isMatch, hasSearch) {
    var D = this.data, f = t.frame[node], name = D.names[f];
    if (this.opts.colorFor) {
      var c = this.opts.colorFor(this.info(t, node));
      if (c) return c;
    }
    if (hasSearch) {
      if (isMatch) return MATCH_COLOR;
      return '#e6e2dc';
    }
    if (!this.diff) {  /* a frame's colour depends on the frame only: kept per tree */
      var cache = D.colorCache || (D.colorCache = []), cf = cache[f];
      if (cf === undefined) {
        cf = cache[f] = f === D.p.pruned.otherFrame ? OTHER_COLOR : D.inputFrames.length && D.inputFrames.indexOf(f) >= 0
          ? INPUT_COLOR : kindColor(D.kinds[f], hash(name), hash(name + '#'));
      }
      return cf;
    }
    if (f === this.data.p.pruned.otherFrame) return OTHER_COLOR;
    if (D.inputFrames.length && D.inputFrames.indexOf(f) >= 0) return INPUT_COLOR;
    if (t.src) {
      var src = t.src[node], b = this.baseV.total[src], h = this.headV.total[src];
      var m = Math.max(Math.abs(b), Math.abs(h)), d = m ? (h - b) / m : 0, a = Math.min(Math.abs(d), 1);
      var lo = Math.round(225 - 165 * a);
      if (Math.abs(d) < 1e-9) return 'rgb(232,232,232)';
      return d > 0 ? 'rgb(255,' + lo + ',' + lo + ')' : 'rgb(' + lo + ',' + lo + ',255)';
    }
    return kindColor(D.kinds[f], hash(name), hash(name + '#'));
  };

  /* the colour legend: one swatch per colour the graph can show for this payload */
  FlameGraph.prototype.renderLegend = function (root) {
    var D = this.data, seen = {}, items = [], lg = el('div', 'fk-legend');
    lg.id = this.id + '-legend';
    lg.setAttribute('aria-label', 'Colour legend');
    lg.appendChild(el('span', 'fk-legend-title', 'Colours:'));
    D.kinds.forEach(function (k, f) {
      if (f === D.p.pruned.otherFrame || D.inputFrames.indexOf(f) >= 0) return;
      var key = k === 'python' || k === 'native' || k === 'kernel' ? k : 'unknown';
      if (!seen[key]) { seen[key] = 1; items.push([key, KIND_LABELS[key] + ' frames', kindColor(key, 0.5, 0.5)]); }
    });
    var order = ['python', 'native', 'kernel', 'unknown'];
    items.sort(function (a, b) { return order.indexOf(a[0]) - order.indexOf(b[0]); });
    if (D.inputFrames.length) items.unshift(['input', 'input (labelled root, as wide as its total)', INPUT_COLOR]);
    if (D.p.pruned.otherFrame >= 0) items.push(['other', '[other]: pruned narrow frames', OTHER_COLOR]);
    items.push(['match', 'search match', MATCH_COLOR]);
    items.forEach(function (it) {
      var item = el('span', 'fk-legend-item'), sw = el('span', 'fk-swatch');
      sw.style.background = it[2];
      item.setAttribute('data-kind', it[0]);
      item.appendChild(sw); item.appendChild(el('span', null, it[1]));
      lg.appendChild(item);
    });
    if (items.length) lg.appendChild(el('span', 'fk-legend-note', 'shades vary by name so neighbouring frames differ'));
    root.appendChild(lg);
    this.legend = lg;
  };

  FlameGraph.prototype.info = function (t, node) {
    var D = this.data, f = t.frame[node], src = t.src ? t.src[node] : -1;
    var o = {node: src, frame: f, func: D.func[f], name: D.names[f], file: D.files[f], line: D.lines[f],
             kind: D.kinds[f], self: t.self[node], total: t.total[node], depth: t.depth[node],
             grandTotal: this.grand, base: null, head: null, input: -1, inputTotal: 0};
    if (src >= 0 && D.inputFrames.length) {
      o.input = D.inputOf[src];
      var r = o.input >= 0 ? D.inputRoot[o.input] : -1;
      o.inputTotal = r >= 0 ? this.view.total[r] : 0;
    }
    if (this.diff && src >= 0) {
      o.base = {self: this.baseV.self[src], total: this.baseV.total[src]};
      o.head = {self: this.headV.self[src], total: this.headV.total[src]};
    }
    return o;
  };

  FlameGraph.prototype.unit = function () { return this.data.typeUnits[this.widthType()]; };

  FlameGraph.prototype.showTip = function (cv, node, ev) {
    var t = cv.t, info = this.info(t, node), unit = this.unit(), tip = this.tip;
    while (tip.firstChild) tip.removeChild(tip.firstChild);
    tip.appendChild(el('div', 'fk-tip-name', info.name || '(empty name)'));
    if (info.file) tip.appendChild(el('div', 'fk-tip-file', info.file + (info.line ? ':' + info.line : '')));
    var rows = [['Self', fmt(info.self, unit) + '  (' + pct(info.self, this.grand) + ' of the total)'],
                ['Total', fmt(info.total, unit) + '  (' + pct(info.total, this.grand) + ' of the total)']];
    if (info.input >= 0) {  /* several inputs: shares of the page and of this input's own total */
      var D = this.data, lab = D.names[D.inputFrames[info.input]], isRoot = D.parent[info.node] < 0;
      var both = function (v) {
        return fmt(v, unit) + '  (' + pct(v, this.grand) + ' of the page' +
          (isRoot ? '' : ' · ' + pct(v, info.inputTotal) + ' of ' + lab) + ')';
      }.bind(this);
      rows = [['Input', lab + (isRoot ? ' (the whole input)' : '')], ['Self', both(info.self)], ['Total', both(info.total)]];
    }
    if (info.base) {
      var u = this.data.typeUnits[this.diff.head];
      rows = [['Self', 'base ' + fmt(info.base.self, u) + ' → head ' + fmt(info.head.self, u) +
               '  (Δ ' + fmt(info.head.self - info.base.self, u) + ')'],
              ['Total', 'base ' + fmt(info.base.total, u) + ' → head ' + fmt(info.head.total, u) +
               '  (Δ ' + fmt(info.head.total - info.base.total, u) + ')']];
    }
    if (info.node >= 0 && this.data.otherFrames[info.node] !== undefined) {
      var nk = this.data.otherKids[info.node], nf = this.data.otherFrames[info.node];
      var up = this.data.parent[info.node];
      rows.push(['Merged', nk + (up >= 0 ? ' smaller callee' + (nk === 1 ? '' : 's') + ' of ' +
                 (this.data.names[this.data.frame[up]] || '(empty name)') : ' smaller root' + (nk === 1 ? '' : 's')) +
                 ', ' + nf + ' frame' + (nf === 1 ? '' : 's') + ' in all']);
    }
    if (this.opts.tooltipRows) rows = rows.concat(this.opts.tooltipRows(info) || []);
    var tbl = el('table');
    rows.forEach(function (r) {
      var tr = el('tr'); tr.appendChild(el('th', null, r[0])); tr.appendChild(el('td', null, r[1])); tbl.appendChild(tr);
    });
    tip.appendChild(tbl);
    tip.hidden = false;
    var x = ev.clientX + 14, y = ev.clientY + 14, w = tip.offsetWidth, h = tip.offsetHeight;
    if (x + w > window.innerWidth - 4) x = Math.max(4, ev.clientX - w - 14);
    if (y + h > window.innerHeight - 4) y = Math.max(4, ev.clientY - h - 14);
    tip.style.left = (x + window.scrollX) + 'px';
    tip.style.top = (y + window.scrollY) + 'px';
  };

  FlameGraph.prototype.bindCanvas = function (cv, isMain) {
    var self = this;
    cv.canvas.addEventListener('mousemove', function (ev) {
      var n = cv.hit(ev);
      if (n < 0) { self.tip.hidden = true; cv.canvas.style.cursor = 'default'; return; }
      cv.canvas.style.cursor = 'pointer';
      self.showTip(cv, n, ev);
    });
    cv.canvas.addEventListener('mouseleave', function () { self.tip.hidden = true; });
    cv.canvas.addEventListener('click', function (ev) {
      var n = cv.hit(ev);
      if (n < 0) return;
      if (isMain) {
        self.zoomTo(n === self.main.zoom ? self.data.parent[n] : n);
        self.selectFunction(self.data.func[self.data.frame[n]]);
      } else {
        self.selectFunction(self.data.func[cv.t.frame[n]]);
      }
      self.changed();
    });
  };

  FlameGraph.prototype.bindKeys = function () {
    var self = this;
    document.addEventListener('keydown', function (ev) {
      var tag = (ev.target && ev.target.tagName) || '';
      if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
      if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA') {
        if (ev.key === 'Escape' && ev.target === self.searchBox) {
          self.searchBox.value = ''; self.search('', false); self.searchBox.blur(); self.changed();
        }
        return;
      }
      var k = ev.key;
      if (k === '/') { ev.preventDefault(); self.searchBox.focus(); }
      else if (k === 'Escape' || k === 'r') { self.zoomTo(-1); self.changed(); }
      else if (k === 'u' || k === 'Backspace') {
        if (self.main.zoom >= 0) { self.zoomTo(self.data.parent[self.main.zoom]); self.changed(); }
      }
      else if (k === 'i') { self.toggleOrientation(); self.changed(); }
      else if (k === 'b' && self.diff) { self.toggleBase(); self.changed(); }
      else if (k === 't' && self.data.typeNames.length > 1 && !self.diff) {
        self.setType((self.type + 1) % self.data.typeNames.length);
      }
    });
  };

  FlameGraph.prototype.changed = function () { if (this.opts.onChange) this.opts.onChange(this); };

  FlameGraph.prototype.redraw = function () {
    var t0 = performance.now();
    this.drawnNodes = this.main.draw(this.tree);
    var wrap = this.main.canvas.parentNode;  // flame: keep the roots (bottom) in view
    wrap.scrollTop = this.main.orientation === 'flame' ? wrap.scrollHeight : 0;
    this.renderCrumbs();
    if (this.sw) this.renderSandwich();
    this.drawMs = performance.now() - t0;
    this.drawCount = (this.drawCount || 0) + 1;
  };

  FlameGraph.prototype.renderCrumbs = function () {
    var self = this, D = this.data, c = this.crumbs, path = [];
    while (c.firstChild) c.removeChild(c.firstChild);
    for (var i = this.main.zoom; i >= 0; i = D.parent[i]) path.unshift(i);
    var top = el('button', 'fk-crumb', 'all'); top.type = 'button';
    top.addEventListener('click', function () { self.zoomTo(-1); self.changed(); });
    c.appendChild(top);
    path.forEach(function (n) {
      c.appendChild(el('span', 'fk-sep', '›'));
      var b = el('button', 'fk-crumb', D.names[D.frame[n]] || '(empty name)'); b.type = 'button';
      b.setAttribute('data-node', String(n));
      b.addEventListener('click', function () { self.zoomTo(n); self.changed(); });
      c.appendChild(b);
    });
  };

  FlameGraph.prototype.zoomTo = function (n) {
    this.main.zoom = n >= 0 && n < this.data.n ? n : -1;
    this.redraw();
  };

  FlameGraph.prototype.setType = function (k) {
    if (k < 0 || k >= this.data.typeNames.length) return;
    this.type = k; this.typeSel.value = String(k);
    this.recompute(); this.changed();
  };

  FlameGraph.prototype.setThread = function (k) {
    this.thread = k; this.threadSel.value = String(k);
    this.recompute(); this.changed();
  };

  /* Draw another payload with the same frames, types and threads but its own node tree
     (libraries.js folds library frames); zoom resets, type, thread, search and sandwich stay. */
  FlameGraph.prototype.setPayload = function (payload) {
    this.data = new Data(payload); this.main.zoom = -1; this.recompute();
  };

  FlameGraph.prototype.toggleOrientation = function () {
    this.main.orientation = this.main.orientation === 'flame' ? 'icicle' : 'flame';
    this.orientBtn.textContent = this.main.orientation === 'flame' ? 'Icicle' : 'Flame';
    this.redraw();
  };

  FlameGraph.prototype.toggleBase = function () {
    this.showBase = !this.showBase;
    this.baseBtn.textContent = this.showBase ? 'Show head' : 'Show base';
    this.recompute();
  };

  /* Search: names matching a substring (or a regex) are highlighted; the matched share
     counts every sample once even when matches nest. Returns {nodes, functions, share}. */
  FlameGraph.prototype.search = function (pattern, regex) {
    var D = this.data, t = this.tree, i, test;
    this.pattern = pattern; this.regex = !!regex;
    this.matchCount.classList.remove('fk-bad');
    if (!pattern) {
      this.matchNode = null; this.matchCount.textContent = '';
      this.matchCount.removeAttribute('data-count'); this.redraw();
      return {nodes: 0, functions: 0, share: 0};
    }
    if (regex) {
      var rx;
      try { rx = new RegExp(pattern); } catch (e) {
        this.matchNode = null; this.matchCount.textContent = 'invalid regex';
        this.matchCount.classList.add('fk-bad'); this.matchCount.setAttribute('data-count', '0');
        this.redraw(); return {nodes: 0, functions: 0, share: 0};
      }
      test = function (s) { return rx.test(s); };
    } else {
      test = function (s) { return s.indexOf(pattern) >= 0; };
    }
    var fm = new Uint8Array(D.names.length);
    for (i = 0; i < fm.length; i++) fm[i] = test(D.names[i]) ? 1 : 0;
    var m = new Uint8Array(D.n), cov = new Uint8Array(D.n), count = 0, share = 0, funcs = {};
    for (i = 0; i < D.n; i++) {
      var f = D.frame[i], q = D.parent[i], pc = q >= 0 ? cov[q] : 0;
      m[i] = fm[f];
      cov[i] = pc || m[i];
      if (m[i] && t.total[i] !== 0) {
        count++; funcs[D.func[f]] = 1;
        if (!pc) share += Math.abs(t.width[i]);
      }
    }
    var nf = Object.keys(funcs).length, frac = this.grandAbs ? share / this.grandAbs : 0;
    this.matchNode = m;
    this.matchCount.textContent = count + ' match' + (count === 1 ? '' : 'es') + ' in ' + nf +
      ' function' + (nf === 1 ? '' : 's') + ' · ' + (100 * frac).toFixed(2) + '% of total';
    this.matchCount.setAttribute('data-count', String(count));
    this.matchCount.setAttribute('data-functions', String(nf));
    this.matchCount.setAttribute('data-share', String(frac));
    this.lastSearch = {nodes: count, functions: nf, share: frac};
    this.redraw();
    return this.lastSearch;
  };

  /* Sandwich: callers (flame, function at the bottom) and callees (icicle, function on top)
     of one function, merged over its outermost occurrences (recursion counted once). */
  FlameGraph.prototype.selectFunction = function (func) {
    this.sandwichFunc = func;
    if (this.sw) this.renderSandwich();
  };

  FlameGraph.prototype.sandwichTrees = function (func) {
    var D = this.data, v = this.view, n = D.n, i, has = new Uint8Array(n), top = [], outer = -1, outers = 0, nested = false;
    for (i = 0; i < n; i++) {
      var q = D.parent[i], isF = D.func[D.frame[i]] === func ? 1 : 0, ph = q >= 0 ? has[q] : 0;
      has[i] = ph || isF;
      if (isF && ph) nested = true;
      if (isF && !ph) { outer = i; outers++; if (v.width[i] > 0) top.push(i); }
    }
    var callees0 = null;
    if (outers === 1 && !nested && top.length === 1 && this.tree && this.tree.n === n && this.tree.width === v.width) {
      /* one occurrence, no recursion: its callees are its subtree in the flame graph's own tree,
         laid out there already (x from its left edge, depth from it; the rest has no width) */
      var T0 = this.tree, w = new Float64Array(n), dep = new Int32Array(n), x = new Float64Array(n), d0 = D.depth[outer], x0 = T0.x[outer];
      for (i = outer; i < n; i++) if (has[i]) { w[i] = v.width[i]; dep[i] = D.depth[i] - d0; x[i] = T0.x[i] - x0; }
      callees0 = {n: n, parent: D.parent, frame: D.frame, depth: dep, width: w, self: v.self, total: v.total,
                  x: x, W: v.width[outer], root: outer, src: null};
    }
    var rootFrame = top.length ? D.frame[top[0]] : -1;
    var nFrames = D.names.length + 1;
    function Tree() { this.parent = [-1]; this.frame = [rootFrame]; this.self = [0]; this.total = [0]; this.width = [0]; this.map = new Map(); }
    Tree.prototype.child = function (p, f) {
      var key = p * nFrames + f, c = this.map.get(key);
      if (c === undefined) {
        c = this.parent.length; this.map.set(key, c);
        this.parent.push(p); this.frame.push(f); this.self.push(0); this.total.push(0); this.width.push(0);
      }
      return c;
    };
    var callers = new Tree(), callees = new Tree();
    top.forEach(function (t) {
      var cur = 0, tot = v.total[t], w = v.width[t];
      callers.total[0] += tot; callers.width[0] += w;
      for (var a = D.parent[t]; a >= 0; a = D.parent[a]) {
        cur = callers.child(cur, D.frame[a]);
        callers.total[cur] += tot; callers.width[cur] += w;
      }
    });
    var dmap = new Int32Array(n).fill(-1);
    for (i = 0; i < n && !callees0; i++) {
      var p = D.parent[i], id = -1;
      if (has[i] && D.func[D.frame[i]] === func && (p < 0 || !has[p])) id = 0;
      else if (p >= 0 && dmap[p] >= 0) id = callees.child(dmap[p], D.frame[i]);
      dmap[i] = id;
      if (id >= 0) { callees.self[id] += v.self[i]; callees.width[id] += Math.abs(v.self[i]); }
    }
    function finish(T, fromSelf) {
      var m = T.parent.length, k;
      if (fromSelf) {
        for (k = 0; k < m; k++) T.total[k] = T.self[k];
        for (k = m - 1; k > 0; k--) { T.total[T.parent[k]] += T.total[k]; T.width[T.parent[k]] += T.width[k]; }
      } else {
        for (k = 0; k < m; k++) T.self[k] = T.total[k];
        for (k = 1; k < m; k++) T.self[T.parent[k]] -= T.total[k];
      }
      var depth = new Int32Array(m);
      for (k = 1; k < m; k++) depth[k] = depth[T.parent[k]] + 1;
      var csr = kidsCSR(m, T.parent);
      return layout({n: top.length ? m : 0, parent: T.parent, frame: T.frame, depth: depth,
                     width: Float64Array.from(T.width), self: T.self, total: T.total,
                     kidStart: csr.kidStart, kids: csr.kids, roots: top.length ? csr.roots : [], src: null},
                    D.names);
    }
    return {callers: finish(callers, false), callees: callees0 || finish(callees, true), occurrences: top.length};
  };

  FlameGraph.prototype.renderSandwich = function () {
    var D = this.data, self = this, func = this.sandwichFunc, unit = this.unit();
    if (func < 0) {
      this.callersList.textContent = ''; this.calleesList.textContent = ''; this.sandwich = null;
      this.callersCanvas.draw({n: 0, W: 0, x: [], width: [], depth: [], parent: [], frame: []});
      this.calleesCanvas.draw({n: 0, W: 0, x: [], width: [], depth: [], parent: [], frame: []});
      return;
    }
    var fr = D.func.indexOf(func), v = this.view, tr;
    if (v.sandwich && v.sandwich.func === func && v.sandwich.data === D) tr = v.sandwich.tr;  /* made for this view already */
    else { tr = this.sandwichTrees(func); v.sandwich = {func: func, data: D, tr: tr}; }
    if (tr === this.sandwich) {  /* the same trees (a zoom or search): only their drawings change */
      this.callersCanvas.draw(tr.callers); this.calleesCanvas.draw(tr.callees);
      return;
    }
    this.callersList.textContent = ''; this.calleesList.textContent = '';
    this.swTitle.textContent = 'Sandwich: ' + (D.names[fr] || '(empty name)');
    this.swTitle.title = D.files[fr] || '';
    function list(T, ol) {
      var kids = [], k;
      if (T.root !== undefined) for (k = D.kidStart[T.root]; k < D.kidStart[T.root + 1]; k++) kids.push(D.kids[k]);
      else for (k = 1; k < T.n; k++) if (T.parent[k] === 0) kids.push(k);
      kids.sort(function (a, b) { return (T.width[b] - T.width[a]) || (a - b); });
      var more = kids.length - LIST_MAX;  /* the widest LIST_MAX: a root's callees can be thousands */
      if (more > 0) kids.length = LIST_MAX;
      kids.forEach(function (k) {
        var li = el('li');
        var nm = el('span', 'fk-name', D.names[T.frame[k]] || '(empty name)');
        li.appendChild(nm);
        li.appendChild(el('span', 'fk-val', fmt(T.total[k], unit) + ' · ' + pct(T.total[k], self.grand)));
        li.setAttribute('data-value', String(T.total[k]));
        ol.appendChild(li);
      });
      if (more > 0) ol.appendChild(el('li', 'fk-none', '\u2026 ' + more.toLocaleString('en-US') + ' more (all in the flame graph below)'));
      if (!kids.length) ol.appendChild(el('li', 'fk-none', 'none'));
    }
    list(tr.callers, this.callersList);
    list(tr.callees, this.calleesList);
    this.callersCanvas.draw(tr.callers);
    this.calleesCanvas.draw(tr.callees);
    this.sandwich = tr;
  };

  /* ---- downloads (Blob URLs generated in the page, no network; exporters: export.js) ---- */
  flamekit.download = function (filename, mime, text) {
    var blob = new Blob([text], {type: mime}), url = URL.createObjectURL(blob), a = el('a');
    a.href = url; a.download = filename;
    document.body.appendChild(a); a.click(); document.body.removeChild(a);
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  };

  flamekit.Data = Data;
  flamekit.render = function (el_, payload, options) { return new FlameGraph(el_, payload, options); };
})();
