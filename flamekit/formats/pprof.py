"""pprof ``profile.proto`` importer and exporter (pipeline stage: formats).

Format: https://github.com/google/pprof/blob/main/proto/profile.proto, read and
written with flamekit's own small wire-format codec (:mod:`._protobuf`), gzip
or not. Field numbers used (all others are skipped on read, never written):

=================  ======================================================  ====  =====
message            fields                                                  read  write
=================  ======================================================  ====  =====
Profile            1 sample_type, 2 sample, 3 mapping, 4 location,         yes   yes
                   5 function, 6 string_table, 9 time_nanos,
                   10 duration_nanos, 11 period_type, 12 period,
                   13 comment, 14 default_sample_type
Profile            7 drop_frames, 8 keep_frames, 15 doc_url                yes   yes (from meta)
ValueType          1 type, 2 unit                                          yes   yes
Sample             1 location_id (leaf first), 2 value, 3 label            yes   yes
Label              1 key, 2 str, 3 num, 4 num_unit                         yes   yes
Mapping            1 id, 2 memory_start, 3 memory_limit, 4 file_offset,    yes   yes
                   5 filename, 6 build_id, 7-10 has_* flags
Location           1 id, 2 mapping_id, 3 address, 4 line, 5 is_folded      1-4   1-4
Line               1 function_id, 2 line, 3 column                         1-2   1-2
Function           1 id, 2 name, 3 system_name, 4 filename, 5 start_line   1-4   1-4
=================  ======================================================  ====  =====

Model mapping:

* A Location with several Lines is several frames: ``line[0]`` is the innermost
  (inlined) function, the last line its caller; the inlined ones get
  ``kind="inlined"``. Sample ``location_id`` is leaf first; flamekit stacks are
  root first, so both orders are reversed. A Location without lines becomes a
  frame named by its address (``0x4a2b1c``). ``Frame.module`` is the mapping's
  filename.
* Thread labels (``thread``/``thread_name`` string, ``thread_id``/``tid``,
  ``pid``) become :class:`~flamekit.model.Thread` rows; other labels go to the
  ``pprof_labels`` table (``sample``, ``stack``, ``key``, ``str``, ``num``,
  ``num_unit``); mappings to the ``pprof_mappings`` table. Export writes both
  back (labels only onto samples whose stack still matches).
* Header fields go to ``meta["pprof"]`` (raw) plus ``meta["duration"]``
  (seconds) and ``meta["start_time"]`` (ISO 8601, UTC).
* Negative values are valid (Go delta profiles) and set
  ``meta["has_negative_values"]`` with a warning, so renderers never draw a
  negative width by accident.

Safety: decompressed size is capped (``max_decompressed``), one gzip member
only (concatenated profiles are refused, as in pprof's ``errConcatProfile``),
and no list is ever pre-allocated from a length read in the input. Legacy
pprof formats (text ``--- heapz``, gperftools binary CPU) are recognized and
refused with a clear message.
"""
from __future__ import annotations

import datetime as _dt
import os
import re
from array import array
from typing import Any

import numpy as np

from ..errors import FormatError
from ..model import Profile, ProfileBuilder, SampleType
from . import _io
from ._format import Format
from ._kinds import frame_kind
from ._pprof_encode import NO_STACK, dump
from ._protobuf import (WIRE_LEN, WIRE_VARINT, ProtoError, iter_fields, packed_int64_array,
                        repeated_varints, signed64)

NAME = "pprof"

# label keys (lower case, spaces as "_") that name a thread; austin2pprof writes "Thread ID"
_THREAD_NAME_KEYS = ("thread", "thread_name")
_THREAD_ID_KEYS = ("thread_id", "tid")
_PID_KEYS = ("pid", "process_id")
_INT = re.compile(r"-?[0-9]{1,18}\Z")

# Profile message: field -> expected wire type (for validation and sniffing)
_PROFILE_WIRES = {1: WIRE_LEN, 2: WIRE_LEN, 3: WIRE_LEN, 4: WIRE_LEN, 5: WIRE_LEN,
                  6: WIRE_LEN, 7: WIRE_VARINT, 8: WIRE_VARINT, 9: WIRE_VARINT,
                  10: WIRE_VARINT, 11: WIRE_LEN, 12: WIRE_VARINT, 14: WIRE_VARINT,
                  15: WIRE_VARINT}
_SUBMESSAGES = (1, 2, 3, 4, 5, 11)


# ---------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------
def _legacy_kind(head: bytes) -> str | None:
    """Name the legacy pprof format of ``head``, or None."""
    if head.startswith((b"--- heapz", b"--- contention", b"--- threadz", b"--- heap",
                        b"heap profile:", b"threadcreate profile:", b"goroutine profile:",
                        b"--- mutex", b"--- growthz")):
        return "legacy pprof text profile"
    for w in (4, 8):  # gperftools / Go <1.9 binary CPU profile: words 0, 3 (header count)
        if len(head) >= 2 * w and head[:w] == bytes(w) and \
                head[w:2 * w] in ((3).to_bytes(w, "little"), (3).to_bytes(w, "big")):
            return "legacy binary CPU profile (gperftools / Go < 1.9)"
    return None


def _plausible_message(buf: bytes, a: int, b: int) -> bool:
    """profile.proto sub-messages only hold varints and length-delimited fields."""
    try:
        for _, wire, _, _ in iter_fields(buf, a, b):
            if wire not in (WIRE_VARINT, WIRE_LEN):
                return False
    except ProtoError:
        return False
    return True


def sniff(head: bytes) -> bool | None:
    """Claim protobuf pprof profiles (and the legacy pprof formats, to refuse them clearly)."""
    if _legacy_kind(head):
        return True
    if not head or head[0] not in (0x0A, 0x12, 0x1A, 0x22, 0x2A, 0x32, 0x48, 0x50, 0x5A,
                                   0x60, 0x68, 0x6A, 0x70):
        return False
    seen = 0
    try:
        for field, wire, a, b in iter_fields(head, 0, len(head)):
            if field in _PROFILE_WIRES and wire != _PROFILE_WIRES[field]:
                return False
            if field in _SUBMESSAGES and not _plausible_message(head, a, b):
                return False
            seen += 1
    except ProtoError as e:
        # a profile longer than the head ends mid-field: fine if what came before parsed
        if len(head) < _io.HEAD_SIZE or not ("past the end" in e.reason
                                             or "truncated" in e.reason):
            return False
    return seen > 0


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------
def _read_payload(source: str, cap: int) -> bytes:
    """Return the profile bytes: one gzip member decompressed under ``cap``, or the raw file."""
    return _io.read_all_bytes(source, limit=cap, max_decompressed=cap, single_gzip_member=True)


class _Decoder:
    """Decode one Profile message into plain tables, validating as pprof's CheckValid does."""

    def __init__(self, buf: bytes, source: str) -> None:
        self.buf = buf
        self.source = source
        self.strings: list[str] = []
        self.spans: dict[int, list[tuple[int, int]]] = {f: [] for f in _SUBMESSAGES}
        self.scalars: dict[int, int] = {}
        self.comments: list[int] = []
        self.sample_a = array("q")  # Sample spans, 16 bytes each (not a tuple per sample)
        self.sample_b = array("q")

    def err(self, offset: int, reason: str) -> FormatError:
        return FormatError(NAME, self.source, f"offset {offset}", reason)

    def s(self, idx: int, at: int) -> str:
        """Return string ``idx`` of the string table (error when out of range)."""
        if 0 <= idx < len(self.strings):
            return self.strings[idx]
        raise self.err(at, f"string index {signed64(idx)} out of range "
                           f"(string_table has {len(self.strings)} entries)")

    def top(self) -> None:
        buf = self.buf
        for field, wire, a, b in iter_fields(buf, 0, len(buf)):
            want = _PROFILE_WIRES.get(field)
            if field == 13:
                repeated_varints(buf, wire, a, b, self.comments)
                continue
            if want is None:
                continue  # unknown field: skip (forward compatible)
            if wire != want:
                raise self.err(b if wire != WIRE_LEN else a,
                               f"Profile field {field} has wire type {wire}, expected {want}")
            if field == 6:
                self.strings.append(buf[a:b].decode("utf-8", errors="replace"))
            elif field == 2 and wire == WIRE_LEN:
                self.sample_a.append(a)
                self.sample_b.append(b)
            elif wire == WIRE_LEN:
                self.spans[field].append((a, b))
            else:
                self.scalars[field] = a
        if not self.strings or self.strings[0] != "":
            raise self.err(0, "string_table[0] must be ''" if self.strings
                           else "no string table (string_table[0] must be '')")

    def fields(self, a: int, b: int) -> dict[int, Any]:
        """Decode a small message: last value per scalar field, lists of spans for LEN fields."""
        out: dict[int, Any] = {}
        for field, wire, x, y in iter_fields(self.buf, a, b):
            if wire == WIRE_LEN:
                out.setdefault(-field, []).append((x, y))
            else:
                out[field] = x
        return out

    def value_type(self, span: tuple[int, int]) -> SampleType:
        f = self.fields(*span)
        return SampleType(self.s(f.get(1, 0), span[0]), self.s(f.get(2, 0), span[0]))


def _kind(file: str, module: str, inlined: bool) -> str:
    """Derive a frame kind from what pprof records (deterministic, so round trips keep it)."""
    return "inlined" if inlined else frame_kind(file, module)


def load(path: str | os.PathLike, *, max_decompressed: int | None = None) -> Profile:
    """Load a pprof protobuf profile (gzip or not); raise FormatError for anything malformed."""
    source = os.fspath(path)
    cap = _io.MAX_DECOMPRESSED if max_decompressed is None else int(max_decompressed)
    buf = _read_payload(source, cap)
    if not buf:
        raise FormatError(NAME, source, "offset 0", "empty input file")
    legacy = _legacy_kind(buf[:64])
    if legacy:
        raise FormatError(NAME, source, "offset 0",
                          f"legacy pprof not supported ({legacy}); convert it with "
                          f"`go tool pprof -proto FILE > out.pb.gz`")
    try:
        return _load(buf, source)
    except ProtoError as e:
        raise FormatError(NAME, source, f"offset {e.offset}", e.reason) from None


def _load(buf: bytes, source: str) -> Profile:
    dec = _Decoder(buf, source)
    dec.top()
    S = dec.s
    sample_types: list[SampleType] = []
    warnings: list[str] = []
    seen: set[SampleType] = set()
    next_n: dict[SampleType, int] = {}  # per duplicated type: the next suffix to try
    for span in dec.spans[1]:
        st = dec.value_type(span)
        if st in seen:  # the model needs distinct columns (a set: k duplicates cost O(k))
            n = next_n.get(st, 2)
            while SampleType(f"{st.name}#{n}", st.unit) in seen:
                n += 1
            next_n[st] = n + 1
            warnings.append(f"duplicate sample type {st}; renamed to {st.name}#{n}")
            st = SampleType(f"{st.name}#{n}", st.unit)
        seen.add(st)
        sample_types.append(st)

    # functions
    functions: dict[int, tuple[str, str, str]] = {}
    for a, b in dec.spans[5]:
        f = dec.fields(a, b)
        fid = f.get(1, 0)
        if fid == 0:
            raise dec.err(a, "function with reserved id 0")
        if fid in functions:
            raise dec.err(a, f"multiple functions with same id: {fid}")
        functions[fid] = (S(f.get(2, 0), a), S(f.get(3, 0), a), S(f.get(4, 0), a))

    # mappings
    mappings: dict[int, str] = {}
    mcols: dict[str, list] = {k: [] for k in ("id", "memory_start", "memory_limit", "file_offset",
                                              "filename", "build_id", "has_functions",
                                              "has_filenames", "has_line_numbers",
                                              "has_inline_frames")}
    for a, b in dec.spans[3]:
        f = dec.fields(a, b)
        mid = f.get(1, 0)
        if mid == 0:
            raise dec.err(a, "mapping with reserved id 0")
        if mid in mappings:
            raise dec.err(a, f"multiple mappings with same id: {mid}")
        mappings[mid] = S(f.get(5, 0), a)
        for col, val in zip(mcols, (mid, f.get(2, 0), f.get(3, 0), f.get(4, 0), mappings[mid],
                                    S(f.get(6, 0), a), bool(f.get(7)), bool(f.get(8)),
                                    bool(f.get(9)), bool(f.get(10)))):
            mcols[col].append(val)

    # locations: decoded now, frames interned lazily in first-use order (so a
    # dump/load round trip gives the same frame table)
    bld = ProfileBuilder(sample_types)
    locations: dict[int, tuple[int, int, list[tuple[int, int, int]], int]] = {}
    buf_ = dec.buf
    for a, b in dec.spans[4]:
        lid = mid = addr = 0
        lines: list[tuple[int, int, int]] = []
        for field, wire, x, y in iter_fields(buf_, a, b):
            if field == 1 and wire == WIRE_VARINT:
                lid = x
            elif field == 2 and wire == WIRE_VARINT:
                mid = x
            elif field == 3 and wire == WIRE_VARINT:
                addr = x
            elif field == 4 and wire == WIRE_LEN:
                lf = dec.fields(x, y)
                lines.append((lf.get(1, 0), signed64(lf.get(2, 0)), x))
        if lid == 0:
            raise dec.err(a, "location with reserved id 0")
        if lid in locations:
            raise dec.err(a, f"multiple locations with same id: {lid}")
        if mid and mid not in mappings:
            raise dec.err(a, f"location id {lid} refers to mapping {mid}, which does not exist")
        for fn_id, _, at in lines:
            if fn_id not in functions:
                raise dec.err(at, f"location id {lid} has a line with function {fn_id}, "
                                  f"which does not exist")
        locations[lid] = (mid, addr, lines, a)
    loc_frames: dict[int, list[int]] = {}

    def frames_of(lid: int, at: int) -> list[int]:
        fids = loc_frames.get(lid)
        if fids is not None:
            return fids
        loc = locations.get(lid)
        if loc is None:
            raise dec.err(at, f"sample refers to location {lid}, which does not exist")
        mid, addr, lines, _ = loc
        module = mappings.get(mid, "")
        fids = []
        last = len(lines) - 1
        for k in range(last, -1, -1):  # the last line is the caller: root first
            fn = functions[lines[k][0]]
            name = fn[0] or fn[1] or (f"0x{addr:x}" if addr else "<unknown>")
            fids.append(bld.frame(name, fn[2], lines[k][1], module,
                                  _kind(fn[2], module, k < last)))
        if not lines:
            fids.append(bld.frame(f"0x{addr:x}", "", 0, module, _kind("", module, False)))
        loc_frames[lid] = fids
        return fids

    # samples: values go straight into one (samples x types) float64 matrix, 8 bytes
    # per value (each costs at least one byte of input), never a Python int each
    ntypes = len(sample_types)
    stack_cache: dict[tuple[int, ...], int] = {}
    thread_cache: dict[tuple, int] = {}
    lcols: dict[str, list] = {k: [] for k in ("sample", "stack", "key", "str", "num", "num_unit")}
    sa = np.frombuffer(dec.sample_a, dtype=np.int64)
    sb = np.frombuffer(dec.sample_b, dtype=np.int64)
    short = np.flatnonzero(sb - sa < ntypes)  # too few bytes for ntypes values: errors below
    matrix = np.zeros((int(short[0]) if len(short) else len(sa), max(ntypes, 1)))
    for si, (a, b) in enumerate(zip(dec.sample_a, dec.sample_b)):
        locs: list[int] = []
        vals: list[int] = []
        packed = None
        labels: list[tuple[int, int]] = []
        for field, wire, x, y in iter_fields(buf_, a, b):
            if field == 1:
                repeated_varints(buf_, wire, x, y, locs)
            elif field == 2:
                if wire == WIRE_LEN and y - x > 32 and packed is None and not vals:
                    packed = packed_int64_array(buf_, x, y)
                else:
                    if packed is not None:
                        vals, packed = packed.tolist(), None
                    repeated_varints(buf_, wire, x, y, vals)
            elif field == 3 and wire == WIRE_LEN:
                labels.append((x, y))
        nv = len(vals) if packed is None else len(packed)
        if nv != ntypes:
            raise dec.err(a, f"mismatch: sample {si} has {nv} values vs. "
                             f"{ntypes} sample types")
        if ntypes:
            matrix[si] = packed if packed is not None else [signed64(v) for v in vals]
        key = tuple(locs)
        sid = stack_cache.get(key)
        if sid is None:
            frames: list[int] = []
            for lid in reversed(locs):
                frames.extend(frames_of(lid, a))
            if not frames:
                frames = [bld.frame(NO_STACK, kind="unknown")]
            sid = stack_cache[key] = bld.stack(frames)
        tname, tid, pid = "", None, None
        for x, y in labels:
            lf = dec.fields(x, y)
            k = S(lf.get(1, 0), x)
            sv = S(lf.get(2, 0), x)
            num = signed64(lf.get(3, 0))
            kn = k.lower().replace(" ", "_")
            if kn in _THREAD_NAME_KEYS and not lf.get(3):
                tname = sv
            elif kn in _THREAD_ID_KEYS and (3 in lf or not sv or _INT.match(sv)):
                tid = num if 3 in lf else int(sv or 0)
            elif kn in _PID_KEYS and (3 in lf or not sv or _INT.match(sv)):
                pid = num if 3 in lf else int(sv or 0)
            else:
                for col, val in zip(lcols, (si, sid, k, sv, num, S(lf.get(4, 0), x))):
                    lcols[col].append(val)
        tkey = (tid, tname, pid)
        th = thread_cache.get(tkey)
        if th is None:
            th = thread_cache[tkey] = bld.thread(tid or 0, tname, pid)
        bld.add(sid, (), thread=th)
    negative = int((matrix < 0).any(axis=1).sum()) if ntypes else 0
    if negative:
        warnings.append(f"{negative} samples have negative values (a delta/diff profile?)")

    meta: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    sc = dec.scalars
    if sc.get(9):
        raw["time_nanos"] = signed64(sc[9])
        try:
            meta["start_time"] = _dt.datetime.fromtimestamp(
                raw["time_nanos"] / 1e9, tz=_dt.timezone.utc).isoformat()
        except (OverflowError, OSError, ValueError):
            pass
    if sc.get(10):
        raw["duration_nanos"] = signed64(sc[10])
        meta["duration"] = raw["duration_nanos"] / 1e9
    if dec.spans[11]:
        pt = dec.value_type(dec.spans[11][-1])
        raw["period_type"] = [pt.name, pt.unit]
    if sc.get(12):
        raw["period"] = signed64(sc[12])
    if dec.comments:
        raw["comments"] = [S(c, 0) for c in dec.comments]
    for fno, key in ((14, "default_sample_type"), (7, "drop_frames"), (8, "keep_frames"),
                     (15, "doc_url")):
        if sc.get(fno):
            raw[key] = S(sc[fno], 0)
    if raw:
        meta["pprof"] = raw
    if negative:
        meta["has_negative_values"] = True
    if mcols["id"]:
        bld.tables["pprof_mappings"] = mcols
    if lcols["sample"]:
        bld.tables["pprof_labels"] = lcols
    for w in warnings:
        bld.warn(w)
    if not bld.sample_types:
        bld.sample_types = [SampleType("samples", "count")]
    return bld.build(meta, values=matrix if ntypes else None)




#: This module's entry in the format registry (see :mod:`flamekit.formats`).
FORMAT = Format(
    NAME,
    extensions=(".pb.gz", ".pprof", ".pb", ".pprof.gz"),
    sniff=sniff,
    load=load,
    dump=dump,
)
