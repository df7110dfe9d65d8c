"""pprof ``profile.proto`` exporter (pipeline stage: formats).

The writing half of :mod:`.pprof`, which documents the fields written and the
model mapping. Output is an uncompressed ``Profile`` message; the registry
gzips it when the file name ends in ``.gz``.
"""
from __future__ import annotations

import re
from typing import BinaryIO

import numpy as np

from ..errors import FlamekitError
from ..model import Frame, Profile, SampleType, Thread
from ..strtable import StringTable
from ._protobuf import field_bytes, field_packed, field_varint

#: A frame named only by its address (a Location without lines).
ADDR_NAME = re.compile(r"0x[0-9a-f]+\Z")
#: The frame of a sample without locations.
NO_STACK = "<no stack>"
NO_STACK_FRAME = Frame(NO_STACK, kind="unknown")


#: profile.proto values are int64; float64 holds integers exactly only below 2**63.
_INT64_LIMIT = 2.0**63


def _int_values(p: Profile, cols: list[int]) -> tuple[np.ndarray, list[SampleType]]:
    """Return int64 values per column; fractional seconds/ms/us become nanoseconds (rounded
    to 1 ns). Refuse (:class:`FlamekitError`) values pprof cannot hold: fractional values
    of other units, and values of 2**63 or more in magnitude."""
    out = np.zeros((p.n_samples, len(cols)), dtype=np.int64)
    types = []
    to_ns = {"seconds": 1e9, "s": 1e9, "milliseconds": 1e6, "ms": 1e6,
             "microseconds": 1e3, "us": 1e3}
    for j, k in enumerate(cols):
        v = p.values[:, k]
        st = p.sample_types[k]
        if len(v) and not np.all(v == np.round(v)):
            if st.unit not in to_ns:
                x = float(v[np.flatnonzero(v != np.round(v))[0]])
                raise FlamekitError(f"pprof holds integer values, and {st} has fractional ones "
                                    f"(e.g. {x!r}); write native or speedscope instead")
            v = v * to_ns[st.unit]
            st = SampleType(st.name, "nanoseconds")
        if len(v) and not (np.abs(v) < _INT64_LIMIT).all():
            x = float(v[np.flatnonzero(~(np.abs(v) < _INT64_LIMIT))[0]])
            raise FlamekitError(f"pprof holds 64-bit integer values, and {st} has {x:.4g} "
                                "(2**63 or more); write native or speedscope instead")
        out[:, j] = np.round(v).astype(np.int64)
        types.append(st)
    return out, types


def _raw_int(raw: dict, key: str) -> int:
    """An int64 field of ``meta["pprof"]`` (0 when missing or not an int64)."""
    v = raw.get(key)
    return v if type(v) is int and -2**63 <= v < 2**63 else 0


def _raw_str(raw: dict, key: str) -> str:
    v = raw.get(key)
    return v if isinstance(v, str) else ""


def dump(profile: Profile, f: BinaryIO, *, sample_type: str | int | None = None) -> None:
    """Write ``profile`` as an uncompressed ``profile.proto`` message to ``f``.

    All sample types are written unless ``sample_type`` picks one. Values are
    int64: fractional time units are converted to nanoseconds (rounded to 1 ns);
    other fractional values, and values of 2**63 or more, are refused. Threads become ``thread``/``thread_id``/``pid`` labels. Sample
    times are not written (profile.proto has no per-sample timestamp).
    """
    p = profile
    cols = list(range(len(p.sample_types))) if sample_type is None \
        else [p.type_index(sample_type)]
    S = StringTable()
    out: list[bytes] = []
    ivals, types = _int_values(p, cols)
    for st in types:
        out.append(field_bytes(1, field_varint(1, S(st.name)) + field_varint(2, S(st.unit)),
                               keep_empty=True))

    # mappings: the pprof_mappings table first (same ids), then one per other module
    mapping_of: dict[str, int] = {}
    mappings: list[bytes] = []
    mt = p.tables.get("pprof_mappings")
    used_ids: set[int] = set()
    if isinstance(mt, dict) and mt.get("id"):
        for i, mid in enumerate(mt["id"]):
            fname = mt["filename"][i]
            mapping_of.setdefault(fname, mid)
            used_ids.add(mid)
            mappings.append(
                field_varint(1, mid) + field_varint(2, mt["memory_start"][i])
                + field_varint(3, mt["memory_limit"][i]) + field_varint(4, mt["file_offset"][i])
                + field_varint(5, S(fname)) + field_varint(6, S(mt["build_id"][i]))
                + field_varint(7, int(mt["has_functions"][i]))
                + field_varint(8, int(mt["has_filenames"][i]))
                + field_varint(9, int(mt["has_line_numbers"][i]))
                + field_varint(10, int(mt["has_inline_frames"][i])))
    next_mid = max(used_ids, default=0) + 1
    for fr in p.frames:
        if fr.module and fr.module not in mapping_of:
            mapping_of[fr.module] = next_mid
            mappings.append(field_varint(1, next_mid) + field_varint(5, S(fr.module))
                            + field_varint(7, 1) + field_varint(8, 1) + field_varint(9, 1)
                            + field_varint(10, 1))
            next_mid += 1

    # functions and locations
    func_ids: dict[tuple[str, str], int] = {}
    functions: list[bytes] = []
    loc_ids: dict[tuple[int, ...], int] = {}
    locations: list[bytes] = []

    def func(name: str, file: str) -> int:
        key = (name, file)
        fid = func_ids.get(key)
        if fid is None:
            fid = func_ids[key] = len(func_ids) + 1
            functions.append(field_varint(1, fid) + field_varint(2, S(name))
                             + field_varint(3, S(name)) + field_varint(4, S(file)))
        return fid

    def location(group: tuple[int, ...]) -> int:
        lid = loc_ids.get(group)
        if lid is None:
            lid = loc_ids[group] = len(loc_ids) + 1
            head = p.frames[group[0]]
            body = field_varint(1, lid) + field_varint(2, mapping_of.get(head.module, 0))
            if len(group) == 1 and not head.file and not head.line and \
                    ADDR_NAME.match(head.name):
                body += field_varint(3, int(head.name, 16))
            else:
                for fid in reversed(group):  # innermost first
                    fr = p.frames[fid]
                    body += field_bytes(4, field_varint(1, func(fr.name, fr.file))
                                        + field_varint(2, fr.line), keep_empty=True)
            locations.append(body)
        return lid

    stack_locs: dict[int, list[int]] = {}

    def locs_of(stack: int) -> list[int]:
        got = stack_locs.get(stack)
        if got is None:
            groups: list[list[int]] = []
            fids = p.stack_frames(stack)
            if len(fids) == 1 and p.frames[fids[0]] == NO_STACK_FRAME:
                fids = []
            for fid in fids:
                if groups and p.frames[fid].kind == "inlined":
                    groups[-1].append(fid)
                else:
                    groups.append([fid])
            got = [location(tuple(g)) for g in groups]  # root first: first-use order
            got.reverse()  # pprof: leaf first
            stack_locs[stack] = got
        return got

    # labels: threads, then the pprof_labels table where the stack still matches
    default_threads = len(p.threads) == 1 and p.threads[0] == Thread(0, "")
    thread_labels: list[bytes] = []
    for t in p.threads:
        lab = b""
        if not default_threads:
            if t.name:
                lab += field_bytes(3, field_varint(1, S("thread")) + field_varint(2, S(t.name)))
            lab += field_bytes(3, field_varint(1, S("thread_id")) + field_varint(3, t.id),
                               keep_empty=True)
            if t.pid is not None:
                lab += field_bytes(3, field_varint(1, S("pid")) + field_varint(3, t.pid),
                                   keep_empty=True)
        thread_labels.append(lab)
    extra: dict[int, bytes] = {}
    lt = p.tables.get("pprof_labels")
    if isinstance(lt, dict) and lt.get("sample"):
        n = p.n_samples
        for i, si in enumerate(lt["sample"]):
            if 0 <= si < n and int(p.sample_stack[si]) == lt["stack"][i]:
                extra[si] = extra.get(si, b"") + field_bytes(3, field_varint(1, S(lt["key"][i]))
                    + field_varint(2, S(lt["str"][i])) + field_varint(3, lt["num"][i])
                    + field_varint(4, S(lt["num_unit"][i])), keep_empty=True)

    samples: list[bytes] = []
    st_l = p.sample_stack.tolist()
    th_l = p.sample_thread.tolist()
    iv = ivals.tolist()
    for i in range(p.n_samples):
        samples.append(field_bytes(2, field_packed(1, locs_of(st_l[i]))
                                   + field_packed(2, iv[i]) + thread_labels[th_l[i]]
                                   + extra.get(i, b""), keep_empty=True))

    # meta["pprof"] is read from files (native JSON): every field is type-checked here
    raw = p.meta.get("pprof") if isinstance(p.meta.get("pprof"), dict) else {}
    tail = b""
    dur = _raw_int(raw, "duration_nanos")
    sec = p.meta.get("duration")
    if not dur and isinstance(sec, (int, float)) and abs(sec) * 1e9 < _INT64_LIMIT:
        dur = int(round(sec * 1e9))
    tail += field_varint(9, _raw_int(raw, "time_nanos")) + field_varint(10, dur)
    pt = raw.get("period_type")
    if isinstance(pt, list) and len(pt) == 2 and all(isinstance(x, str) for x in pt):
        tail += field_bytes(11, field_varint(1, S(pt[0])) + field_varint(2, S(pt[1])),
                            keep_empty=True)
    tail += field_varint(12, _raw_int(raw, "period"))
    comments = raw.get("comments")
    if isinstance(comments, list) and comments:
        tail += field_packed(13, [S(c) for c in comments if isinstance(c, str)])
    for fno, key in ((14, "default_sample_type"), (7, "drop_frames"), (8, "keep_frames"),
                     (15, "doc_url")):
        if _raw_str(raw, key):
            tail += field_varint(fno, S(_raw_str(raw, key)))

    body = b"".join(out) + b"".join(samples)
    body += b"".join(field_bytes(3, m, keep_empty=True) for m in mappings)
    body += b"".join(field_bytes(4, m, keep_empty=True) for m in locations)
    body += b"".join(field_bytes(5, m, keep_empty=True) for m in functions)
    body += b"".join(field_bytes(6, s.encode("utf-8", "replace"), keep_empty=True)
                     for s in S.table)
    f.write(body + tail)
