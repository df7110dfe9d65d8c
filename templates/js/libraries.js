/* flamekit report: the "Hide library frames" switch (pyinstrument's "hide library frames").
 *
 * Reads payload.frames.library (1 for standard library, site-packages and <frozen ...> frames:
 * flamekit.model.is_library, computed once in Python) and report.libraries (flamekit/render/
 * report_views.py: what flamekit.model.hide_libraries folds in the whole profile, and the
 * hotspots with library frames hidden). fold(payload) does in the page what hide_libraries does
 * in Python: a library frame with a user frame above it on its stack is removed, its callees
 * move up to that nearest user caller, its self value becomes the caller's self value, and
 * callees that meet there are merged. Library frames with no user frame above them stay, so
 * totals never change. The flame graph (graph.setPayload), the call tree (it draws graph.data)
 * and the hotspots follow the switch. The count shown is Python's, on the whole profile before
 * pruning. Registers in flamekit.reportViews (see report.js). Text only via textContent.
 */
(function () {
  'use strict';
  var fk = window.flamekit = window.flamekit || {};

  /* Return a payload whose node tree has the library frames folded; samples keep their rows
     (only samples.node changes), other per-node columns follow the first node merged in. */
  function fold(P) {
    var lib = P.frames.library || [], par = P.nodes.parent, fr = P.nodes.frame, n = par.length;
    var nFrames = P.frames.name.length + 1, hasUser = new Uint8Array(n), newId = new Int32Array(n);
    var np = [], nf = [], first = [], index = new Map(), folded = 0, i;
    for (i = 0; i < n; i++) {
      var q = par[i], isLib = lib[fr[i]] === 1;
      hasUser[i] = (!isLib || (q >= 0 && hasUser[q])) ? 1 : 0;
      if (isLib && q >= 0 && hasUser[q]) { newId[i] = newId[q]; folded++; continue; }
      var p2 = q >= 0 ? newId[q] : -1, key = (p2 + 1) * nFrames + fr[i], id = index.get(key);
      if (id === undefined) {
        id = np.length; index.set(key, id);
        np.push(p2); nf.push(fr[i]); first.push(i);
      }
      newId[i] = id;
    }
    var nodes = {parent: np, frame: nf};
    Object.keys(P.nodes).forEach(function (k) {
      var col = P.nodes[k];
      if (k !== 'parent' && k !== 'frame' && Array.isArray(col) && col.length === n) {
        nodes[k] = first.map(function (j) { return col[j]; });
      }
    });
    var samples = Object.assign({}, P.samples, {node: P.samples.node.map(function (x) { return newId[x]; })});
    var out = Object.assign({}, P, {nodes: nodes, samples: samples});
    out.folded = {nodes: folded, nodeMap: newId};
    return out;
  }
  fk.foldLibraries = fold;

  var L = null, R = null, full = null, folded = null, allHotspots = null, on = false;

  function useHotspots() {
    if (!L) return;
    R.hotspots = on && L.hotspots && L.hotspots.length ? L.hotspots : allHotspots;
  }

  function note(graph) {
    var n = document.getElementById('fk-libraries-note');
    if (!n || !L) return;
    var t = graph.widthType(), unit = graph.unit(), moved = (L.self || [])[t] || 0, grand = (R.totals || [])[t] || 0;
    var what = L.frames + ' library frame' + (L.frames === 1 ? '' : 's') + ' of ' + L.functions + ' function' +
      (L.functions === 1 ? '' : 's') + ' (standard library, site-packages, <frozen>)';
    if (!L.rows) n.textContent = 'No library frames under user code: nothing to fold.';
    else if (on) {
      n.textContent = 'Folded ' + what + ' into the user frames that called them; ' + fk.fmt(moved, unit) +
        (grand ? ' (' + (100 * moved / grand).toFixed(1) + '% of the total)' : '') + ' of self time moved to those callers.';
    } else n.textContent = 'Showing every frame; the switch folds ' + what + ' into their user callers.';
  }

  fk.reportViews = fk.reportViews || [];
  fk.reportViews.push({
    name: 'libraries',
    prepare: function (P, report) {
      R = report; L = report.libraries || null; full = P;
      if (!L) return P;
      allHotspots = report.hotspots;
      on = !!L.on;
      useHotspots();
      if (on) { folded = fold(P); return folded; }
      return P;
    },
    init: function (graph) {
      if (!L) return;
      var sec = document.getElementById('flamegraph'), anchor = document.getElementById('fk-graph');
      var bar = fk.el('div', 'fk-libraries'), lab = fk.el('label', 'fk-ctl fk-switch');
      bar.id = 'fk-libraries';
      var box = fk.el('input'); box.type = 'checkbox'; box.id = 'fk-hide-libraries'; box.checked = on;
      box.disabled = !L.rows;
      lab.appendChild(box); lab.appendChild(fk.el('span', null, 'Hide library frames'));
      bar.appendChild(lab);
      var n = fk.el('span', 'fk-libraries-note'); n.id = 'fk-libraries-note';
      bar.setAttribute('data-frames', String(L.frames));
      bar.setAttribute('data-functions', String(L.functions));
      bar.setAttribute('data-rows', String(L.rows));
      bar.appendChild(n);
      sec.insertBefore(bar, anchor);
      box.addEventListener('change', function () {
        on = box.checked;
        if (on && !folded) folded = fold(full);
        useHotspots();
        graph.setPayload(on ? folded : full);
        graph.changed();
      });
      note(graph);
    },
    update: function (graph) { note(graph); }
  });
})();
