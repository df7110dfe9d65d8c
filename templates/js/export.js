/* flamekit exporters: the page's profile as folded stacks or speedscope JSON, in the browser.
 *
 * They write what the Python exporters write for the profile the payload holds
 * (flamekit/formats/folded.py dump and flamekit/formats/speedscope.py dump, one
 * sample type), so "Export folded" and `flamekit convert --to folded` give the same
 * file; tests/integration/test_export_browser.py compares them byte for byte.
 * Differences that follow from the payload: strings are clipped to 1,024
 * characters like everything on the page; a pruned or per-function report exports
 * the tree it draws; speedscope profiles are always "sampled" (the payload keeps
 * no timestamps) and the document's "exporter" is this flamekit.
 *
 * Entry points: flamekit.exportFolded(payload, type, thread) -> text (thread -1 or
 * undefined: all threads), flamekit.exportSpeedscope(payload, type, exporter) -> JSON
 * text, flamekit.foldedFrame(name, file, line, kind) -> one frame's folded text.
 * Uses flamekit.Data from flamegraph.js.
 */
(function () {
  'use strict';
  var flamekit = window.flamekit = window.flamekit || {};

  /* ---- folded (see the escaping rules in flamekit/formats/folded.py) ---- */
  var BACKSLASH = /\\(?=x(?:3[bB]|0[aA]|0[dD]|5[cC]|28|29|5[bB]|22))/g;
  var THREAD_RX = /^thread \((0x[0-9a-fA-F]+|[0-9]+)\)(?:: ([\s\S]*))?$/;
  var PROCESS_RX = /^process ([0-9]+):"([\s\S]*)"$/;
  var ANNOT = {kernel: 'k', jit: 'j', inlined: 'i'};
  var TO_MICROSECONDS = {seconds: 1e6, milliseconds: 1e3, microseconds: 1};

  function escCommon(s) {
    if (s.indexOf('\\') >= 0) s = s.replace(BACKSLASH, '\\x5c');
    return s.replace(/;/g, '\\x3b').replace(/\n/g, '\\x0a').replace(/\r/g, '\\x0d');
  }
  function readsAsFile(t) {   // would "name (x)" read back as name + file?
    if (t.charAt(t.length - 1) !== ')') return false;
    var i = t.lastIndexOf(' (');
    if (i < 0) return false;
    var inner = t.slice(i + 2, -1);
    return inner.length > 0 && inner.indexOf('(') < 0 && inner.indexOf(')') < 0;
  }
  function foldedFrame(name, file, line, kind) {
    var text = escCommon(name);
    if (file || line) {
      var f = escCommon(file).replace(/\(/g, '\\x28').replace(/\)/g, '\\x29');
      var loc = line ? f + ':' + line : (/:[0-9]+$/.test(f) || !f ? f + ':0' : f);
      text += ' (' + loc + ')';
    } else {
      if (readsAsFile(text)) text = text.slice(0, -1) + '\\x29';
      if (text.indexOf('process ') === 0 && PROCESS_RX.test(text)) text = text.replace(':"', ':\\x22');
      else if (text.indexOf('thread (') === 0 && THREAD_RX.test(text)) text = 'thread \\x28' + text.slice(8);
    }
    var a = ANNOT[kind], n = text.length;
    if (a) text += '_[' + a + ']';
    else if (n >= 4 && text.charAt(n - 1) === ']' && text.slice(n - 4, n - 2) === '_[' &&
             'kji'.indexOf(text.charAt(n - 2)) >= 0) text = text.slice(0, n - 3) + '\\x5b' + text.slice(n - 2);
    return text;
  }
  flamekit.foldedFrame = foldedFrame;

  function threadPrefix(P, t) {
    var S = P.strings, T = P.threads, parts = [], name = S[T.name[t]], id = T.id[t];
    if (T.pid[t] >= 0) parts.push('process ' + T.pid[t] + ':"' + escCommon(S[T.command[t]] || '') + '"');
    if (!(id === 0 && !name)) parts.push('thread (' + id + ')' + (name ? ': ' + escCommon(name) : ''));
    return parts.map(function (p) { return p + ';'; }).join('');
  }
  function rint(x) {   // round half to even, like numpy.round
    var r = Math.round(x);
    return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r;
  }
  function positional(v) {   // shortest round-trip digits, never an exponent (numpy positional)
    var m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(v.toExponential());
    var digits = m[2] + (m[3] || ''), point = parseInt(m[4], 10) + 1;
    var s = point <= 0 ? '0.' + '0'.repeat(-point) + digits
      : point >= digits.length ? digits + '0'.repeat(point - digits.length)
      : digits.slice(0, point) + '.' + digits.slice(point);
    return m[1] + s;
  }
  function count(v) {
    return Number.isInteger(v) ? BigInt(v).toString() : positional(v);
  }
  function stackFrames(D, node) {
    var out = [];
    for (var i = node; i >= 0; i = D.parent[i]) out.push(D.frame[i]);
    return out.reverse();
  }

  flamekit.exportFolded = function (payload, type, thread) {
    var D = new flamekit.Data(payload), s = payload.samples, vals = (s.values[type] || []).slice(), i;
    if (thread === undefined || thread === null) thread = -1;
    for (i = 0; i < vals.length; i++) if (vals[i] < 0) {
      throw new Error('folded stacks cannot hold negative values (sample type ' +
                      D.typeNames[type] + '/' + D.typeUnits[type] + ' has some)');
    }
    var scale = TO_MICROSECONDS[D.typeUnits[type]];
    if (scale !== undefined && !vals.every(Number.isInteger)) vals = vals.map(function (v) { return rint(v * scale); });
    var labels = D.names.map(function (nm, f) { return foldedFrame(nm, D.files[f], D.lines[f], D.kinds[f]); });
    var prefixes = payload.threads.id.map(function (_, t) { return threadPrefix(payload, t); });
    var out = [];
    for (i = 0; i < s.node.length; i++) {   // rows are in first-appearance order, as Python writes
      if (thread >= 0 && s.thread[i] !== thread) continue;
      out.push(prefixes[s.thread[i]] + stackFrames(D, s.node[i]).map(function (f) { return labels[f]; }).join(';') +
               ' ' + count(vals[i]) + '\n');
    }
    return out.join('');
  };

  /* ---- speedscope (file-format-schema.json; see flamekit/formats/speedscope.py) ---- */
  var TIME_UNITS = {nanoseconds: 1, microseconds: 1, milliseconds: 1, seconds: 1};
  function unitFor(name, unit) {   // [speedscope unit, does the profile name need a type tag]
    if (TIME_UNITS[unit]) return [unit, name !== 'wall'];
    if (unit === 'bytes') return [unit, name !== 'alloc_space'];
    return ['none', !(name === 'samples' && unit === 'count')];
  }
  function num(v) { return v; }   // JSON numbers: integral ones are written without ".0" anyway
  function at(v) { return Math.abs(v) < 1e21 ? parseFloat(v.toFixed(6)) : v; }

  flamekit.exportSpeedscope = function (payload, type, exporter) {
    var D = new flamekit.Data(payload), S = payload.strings, s = payload.samples, T = payload.threads;
    var vals = s.values[type] || [], frames = [], profiles = [], paths = {}, i;
    for (i = 0; i < D.names.length; i++) {
      var fo = {name: D.names[i]}, file = D.files[i] || S[payload.frames.module[i]];
      if (file) fo.file = file;
      if (D.lines[i]) fo.line = D.lines[i];
      frames.push(fo);
    }
    var allZero = s.node.map(function (_, r) {
      return s.values.every(function (col) { return !col[r]; });
    });
    var tn = D.typeNames[type], tu = D.typeUnits[type], u = unitFor(tn, tu);
    T.id.forEach(function (id, t) {
      var samples = [], weights = [], tot = 0;
      for (var r = 0; r < s.node.length; r++) {
        if (s.thread[r] !== t || (vals[r] === 0 && !allZero[r])) continue;
        var n = s.node[r];
        samples.push(paths[n] || (paths[n] = stackFrames(D, n)));
        weights.push(num(vals[r])); tot += vals[r];
      }
      if (!samples.length) return;
      var name = 'Thread ' + id + ' "' + S[T.name[t]] + '"' + (T.pid[t] >= 0 ? ' pid ' + T.pid[t] : '') +
        (u[1] ? ' [' + tn + '/' + tu + ']' : '');
      profiles.push({type: 'sampled', name: name, unit: u[0], startValue: 0, endValue: at(tot),
                     samples: samples, weights: weights});
    });
    return JSON.stringify({$schema: 'https://www.speedscope.app/file-format-schema.json',
                           version: '0.6.0', exporter: exporter || 'flamekit',
                           shared: {frames: frames}, profiles: profiles}) + '\n';
  };
})();
