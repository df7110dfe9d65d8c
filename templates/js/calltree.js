/* flamekit report: the call tree (pyinstrument's collapsible view), linked to the flame graph.
 *
 * Draws the flame graph's own tree (graph.data: the payload's nodes, or libraries.js's folded
 * ones) with graph.view's self and total for the shown sample type and thread: one row per call
 * path, children heaviest first, Self, Total and Share (total as % of the shown grand total).
 * Rows are made only when their parent is expanded (at most PAGE children at a time, "show more"
 * for the rest), so a 100k-node profile costs what is on screen. Clicking a row zooms the flame
 * graph to that node and selects its function (sandwich, source view); clicking a frame in the
 * flame graph expands the tree down to it, marks and scrolls to its row; the flame graph's search
 * matches are marked in the tree too. Keys on a focused row:
 * Enter selects, Right/Left expand/collapse, Up/Down move.
 * Every row carries data-node, data-self and data-total (numbers as JavaScript prints them).
 * Names and files reach the page only through textContent. Registers in flamekit.reportViews.
 */
(function () {
  'use strict';
  var fk = window.flamekit = window.flamekit || {};
  var PAGE = 50, INDENT = 16, AUTO_SHARE = 0.1, AUTO_MAX = 300;

  function CallTree(box, graph) {
    var self = this, el = fk.el;
    this.graph = graph; this.data = null; this.view = null; this.selected = -1;
    this.open = new Set(); this.limit = new Map(); this.rowOf = new Map(); this.kidsBox = new Map();
    var head = el('div', 'fk-ct-head');
    ['Function', 'Self', 'Total', 'Share'].forEach(function (t, i) { head.appendChild(el('span', i ? 'fk-num' : null, t)); });
    box.appendChild(head);
    this.body = el('div', 'fk-ct-body'); this.body.id = 'fk-calltree-body';
    this.body.setAttribute('role', 'tree');
    box.appendChild(this.body);
    this.body.addEventListener('click', function (ev) {
      var row = ev.target.closest('.fk-ct-row');
      if (!row) return;
      if (row.hasAttribute('data-more')) { self.more(+row.getAttribute('data-more')); return; }
      var k = +row.getAttribute('data-node');
      if (ev.target.closest('.fk-ct-toggle')) self.toggle(k);
      else self.select(k, false);
    });
    this.body.addEventListener('dblclick', function (ev) {
      var row = ev.target.closest('.fk-ct-row[data-node]');
      if (row && !ev.target.closest('.fk-ct-toggle')) self.toggle(+row.getAttribute('data-node'));
    });
    this.body.addEventListener('keydown', function (ev) { self.key(ev); });
  }

  /* children of node i (-1: the roots) with a non-zero width, heaviest first (then by name);
     with lim, only the first lim of them (a node can have thousands: no need to sort them all),
     and list.count says how many there are */
  CallTree.prototype.order = function () {
    var D = this.data, w = this.view.width, names = D.names;
    return function (x, y) {
      var nx = names[D.frame[x]], ny = names[D.frame[y]];
      return (w[y] - w[x]) || (nx < ny ? -1 : nx > ny ? 1 : x - y);
    };
  };
  CallTree.prototype.kids = function (i, lim) {
    var D = this.data, w = this.view.width, cmp = this.order(), out = [], count = 0, a, k;
    var src = i < 0 ? D.roots : D.kids, a0 = i < 0 ? 0 : D.kidStart[i], a1 = i < 0 ? D.roots.length : D.kidStart[i + 1];
    var keep = lim === undefined || a1 - a0 <= 4 * lim ? Infinity : lim;
    for (a = a0; a < a1; a++) {
      k = src[a];
      if (!(w[k] > 0)) continue;
      count++;
      if (keep === Infinity) { out.push(k); continue; }
      if (out.length === keep && cmp(k, out[keep - 1]) >= 0) continue;
      var lo = 0, hi = out.length;  /* insert in order, keep the first `keep` */
      while (lo < hi) { var m = (lo + hi) >> 1; if (cmp(out[m], k) < 0) lo = m + 1; else hi = m; }
      out.splice(lo, 0, k);
      if (out.length > keep) out.pop();
    }
    if (keep === Infinity) { out.sort(cmp); if (lim !== undefined && out.length > lim) out.length = lim; }
    out.count = count;
    return out;
  };

  /* the place of node k among its parent's children in kids() order (-1: not shown, no width) */
  CallTree.prototype.rank = function (k) {
    var D = this.data, w = this.view.width, cmp = this.order(), p = D.parent[k], r = 0, a;
    if (!(w[k] > 0)) return -1;
    var src = p < 0 ? D.roots : D.kids, a0 = p < 0 ? 0 : D.kidStart[p], a1 = p < 0 ? D.roots.length : D.kidStart[p + 1];
    for (a = a0; a < a1; a++) if (w[src[a]] > 0 && cmp(src[a], k) < 0) r++;
    return r;
  };

  CallTree.prototype.hasKids = function (i) {
    var D = this.data, w = this.view.width;
    for (var a = D.kidStart[i]; a < D.kidStart[i + 1]; a++) if (w[D.kids[a]] > 0) return true;
    return false;
  };

  CallTree.prototype.rowFor = function (k) {
    var D = this.data, v = this.view, g = this.graph, el = fk.el, unit = g.unit(), f = D.frame[k];
    var wrap = el('div', 'fk-ct-node'), row = el('div', 'fk-ct-row'), leaf = !this.hasKids(k);
    row.setAttribute('data-node', String(k));
    row.setAttribute('data-self', String(v.self[k]));
    row.setAttribute('data-total', String(v.total[k]));
    row.setAttribute('role', 'treeitem');
    row.setAttribute('aria-level', String(D.depth[k] + 1));
    row.tabIndex = -1;
    var name = el('span', 'fk-ct-name');
    name.style.paddingLeft = (D.depth[k] * INDENT) + 'px';
    var tog = el('span', 'fk-ct-toggle', leaf ? '' : '\u25b8');
    if (!leaf) row.setAttribute('aria-expanded', 'false');
    name.appendChild(tog);
    name.appendChild(el('span', 'fk-ct-fn', D.names[f] || '(empty name)'));
    var file = D.files[f];
    if (file) name.appendChild(el('span', 'fk-ct-file', file + (D.lines[f] ? ':' + D.lines[f] : '')));
    name.title = (D.names[f] || '') + (file ? '\n' + file : '');
    row.appendChild(name);
    row.appendChild(v.self[k] ? el('span', 'fk-num', fk.fmt(v.self[k], unit)) : el('span', 'fk-num fk-ct-zero', '\u2013'));
    row.appendChild(el('span', 'fk-num', fk.fmt(v.total[k], unit)));
    var share = g.grand ? v.total[k] / g.grand : 0, sc = el('span', 'fk-num fk-ct-share');
    var bar = el('span', 'fk-ct-bar'), fill = el('span');
    fill.style.width = Math.max(0, Math.min(100, 100 * share)).toFixed(1) + '%';
    bar.appendChild(fill);
    sc.appendChild(bar); sc.appendChild(el('span', null, (100 * share).toFixed(1) + '%'));
    row.appendChild(sc);
    if (k === this.selected) row.classList.add('fk-ct-sel');
    if (g.matchNode && g.matchNode[k]) row.classList.add('fk-ct-match');
    wrap.appendChild(row);
    this.rowOf.set(k, row);
    return wrap;
  };

  /* (re)make the rows of node i's children in its container */
  CallTree.prototype.fill = function (i) {
    var box = i < 0 ? this.body : this.kidsBox.get(i), lim = this.limit.get(i) || PAGE;
    if (!box) return;
    var list = this.kids(i, lim);
    box.textContent = '';
    for (var j = 0; j < list.length && j < lim; j++) {
      var k = list[j];
      box.appendChild(this.rowFor(k));
      if (this.open.has(k)) this.expand(k);
    }
    if (list.count > lim) {
      var more = fk.el('div', 'fk-ct-row fk-ct-more', '\u2026 ' + (list.count - lim) + ' more (show ' +
                       Math.min(PAGE, list.count - lim) + ')');
      more.setAttribute('data-more', String(i));
      more.style.paddingLeft = ((i < 0 ? 0 : this.data.depth[i] + 1) * INDENT + 18) + 'px';
      box.appendChild(more);
    }
  };

  CallTree.prototype.more = function (i) {
    this.limit.set(i, (this.limit.get(i) || PAGE) + PAGE);
    this.fill(i);
  };

  CallTree.prototype.expand = function (k) {
    var row = this.rowOf.get(k);
    if (!row || !this.hasKids(k)) return;
    this.open.add(k);
    var box = this.kidsBox.get(k);
    if (!box || box.parentNode !== row.parentNode) {
      box = fk.el('div', 'fk-ct-kids'); box.setAttribute('role', 'group');
      row.parentNode.appendChild(box);
      this.kidsBox.set(k, box);
    }
    row.setAttribute('aria-expanded', 'true');
    row.querySelector('.fk-ct-toggle').textContent = '\u25be';
    this.fill(k);
  };

  CallTree.prototype.collapse = function (k) {
    var row = this.rowOf.get(k), box = this.kidsBox.get(k);
    this.open.delete(k);
    if (box && box.parentNode) box.parentNode.removeChild(box);
    this.kidsBox.delete(k);
    if (row && row.hasAttribute('aria-expanded')) {
      row.setAttribute('aria-expanded', 'false');
      row.querySelector('.fk-ct-toggle').textContent = '\u25b8';
    }
  };

  CallTree.prototype.toggle = function (k) {
    if (this.open.has(k) && this.kidsBox.has(k)) this.collapse(k); else this.expand(k);
  };

  /* open the heavy paths (>= AUTO_SHARE of the total), pyinstrument-style, at most AUTO_MAX nodes */
  CallTree.prototype.autoOpen = function () {
    var D = this.data, w = this.view.width, total = 0, q = [], i, k;
    for (i = 0; i < D.roots.length; i++) { total += w[D.roots[i]]; q.push(D.roots[i]); }
    for (i = 0; i < q.length && this.open.size < AUTO_MAX; i++) {
      k = q[i];
      if (!(total > 0) || w[k] < AUTO_SHARE * total) continue;
      this.open.add(k);
      for (var a = D.kidStart[k]; a < D.kidStart[k + 1]; a++) q.push(D.kids[a]);
    }
  };

  CallTree.prototype.build = function () {
    this.rowOf = new Map(); this.kidsBox = new Map();
    this.fill(-1);
    var count = document.getElementById('fk-calltree-count'), g = this.graph;
    if (count) {
      var t = g.widthType();
      count.textContent = this.data.n + ' call paths · ' + g.data.typeNames[t] +
        (g.data.typeUnits[t] ? ' (' + g.data.typeUnits[t] + ')' : '') + ' · ' +
        (g.thread < 0 ? 'all threads' : 'thread ' + (g.data.threadNames[g.thread] || g.thread));
    }
  };

  /* expand down to node k, mark its row and scroll the tree (not the page) to it */
  CallTree.prototype.reveal = function (k) {
    var D = this.data, path = [], j;
    for (var a = k; a >= 0; a = D.parent[a]) path.unshift(a);
    for (j = 0; j < path.length; j++) {
      var par = j ? path[j - 1] : -1, pos = this.rank(path[j]);
      if (pos < 0) return null;
      if (pos >= (this.limit.get(par) || PAGE)) { this.limit.set(par, (Math.floor(pos / PAGE) + 1) * PAGE); this.fill(par); }
      if (j < path.length - 1 && !(this.open.has(path[j]) && this.kidsBox.has(path[j]))) this.expand(path[j]);
    }
    var row = this.rowOf.get(k), b = this.body;
    if (row && row.isConnected) {
      var top = row.offsetTop, h = row.offsetHeight;
      if (top < b.scrollTop || top + h > b.scrollTop + b.clientHeight) b.scrollTop = Math.max(0, top - b.clientHeight / 3);
    }
    return row;
  };

  CallTree.prototype.select = function (k, fromGraph) {
    var old = this.rowOf.get(this.selected);
    if (old) old.classList.remove('fk-ct-sel');
    this.selected = k;
    if (k >= 0) {
      var row = this.reveal(k);
      if (row) row.classList.add('fk-ct-sel');
    }
    if (!fromGraph && k >= 0) {
      var g = this.graph;
      g.zoomTo(k);
      g.selectFunction(g.data.func[g.data.frame[k]]);
      g.changed();
    }
  };

  CallTree.prototype.key = function (ev) {
    var row = ev.target.closest('.fk-ct-row[data-node]');
    if (!row) return;
    var k = +row.getAttribute('data-node'), rows, at;
    if (ev.key === 'Enter') { this.select(k, false); ev.preventDefault(); }
    else if (ev.key === 'ArrowRight') { this.expand(k); ev.preventDefault(); }
    else if (ev.key === 'ArrowLeft') {
      if (this.kidsBox.has(k)) this.collapse(k);
      else if (this.data.parent[k] >= 0) { var p = this.rowOf.get(this.data.parent[k]); if (p) p.focus(); }
      ev.preventDefault();
    } else if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      rows = Array.prototype.slice.call(this.body.querySelectorAll('.fk-ct-row[data-node]'));
      at = rows.indexOf(row) + (ev.key === 'ArrowDown' ? 1 : -1);
      if (at >= 0 && at < rows.length) rows[at].focus();
      ev.preventDefault();
    }
  };

  CallTree.prototype.update = function (g) {
    if (g.data !== this.data) {  // a new node tree (library switch): ids changed
      this.data = g.data; this.view = g.view; this.open = new Set(); this.limit = new Map();
      this.selected = -1; this.match = g.matchNode; this.autoOpen(); this.build();
    } else if (g.view !== this.view || g.matchNode !== this.match) {  // type, thread or search
      this.view = g.view; this.build();
    }
    this.match = g.matchNode;
    var z = g.main.zoom;
    if (z !== this.selected) this.select(z, true);
  };

  fk.CallTree = CallTree;
  var tree = null;
  fk.reportViews = fk.reportViews || [];
  fk.reportViews.push({
    name: 'calltree',
    init: function (graph) {
      var box = document.getElementById('fk-calltree');
      if (box) tree = fk.callTree = new CallTree(box, graph);
    },
    update: function (graph) { if (tree && graph === tree.graph) tree.update(graph); }
  });
})();
