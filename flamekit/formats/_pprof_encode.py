"""pprof ``profile.proto`` exporter (pipeline stage: formats).

The writing half of :mod:`.pprof`, which documents the fields written and the
model mapping. Output is an uncompressed ``Profile`` message; the registry
gzips it when the file name ends in ``.gz``.
"""
from __future__ import annotations

import re
from typing import BinaryIO

import numpy as np

from ..model import Frame, Profile, SampleType, Thread
from ..strtable import StringTable
from ._protobuf import field_bytes, field_packed, field_varint

#: A frame named only by its address (a Location without lines).
ADDR_NAME = re.compile(r"0x[0-9a-f]+\Z")
#: The frame of a sample without locations.
NO_STACK = "<no stack>"
NO_STACK_FRAME = Frame(NO_STACK, kind="unknown")


def _int_values(p: Profile, cols: list[int]) -> tuple[np.ndarray, list[SampleType]]:
    """Return int64 values per column; fractional seconds/ms/us become nanoseconds."""
    out = np.zeros((p.n_samples, len(cols)), dtype=np.int64)
    types = []
    to_ns = {"seconds": 1e9, "s": 1e9, "milliseconds": 1e6, "ms": 1e6,
             "microseconds": 1e3, "us": 1e3}
    for j, k in enumerate(cols):
        v = p.values[:, k]
        st = p.sample_types[k]
        if len(v) and not np.all(v == np.round(v)) and st.unit in to_ns:
            v = v * to_ns[st.unit]
            st = SampleType(st.name, "nanoseconds")
        out[:, j] = np.round(v).astype(np.int64)
        types.append(st)
    return out, types


def dump(profile: Profile, f: BinaryIO, *, sample_type: str | int | None = None) -> None:
    """Write ``profile`` as an uncompressed ``profile.proto`` message to ``f``.

    All sample types are written unless ``sample_type`` picks one. Values are
    rounded to integers (fractional time units are converted to nanoseconds
    first). Threads become ``thread``/``thread_id``/``pid`` labels. Sample
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

    raw = p.meta.get("pprof") if isinstance(p.meta.get("pprof"), dict) else {}
    tail = b""
    dur = raw.get("duration_nanos")
    if dur is None and isinstance(p.meta.get("duration"), (int, float)):
        dur = int(round(p.meta["duration"] * 1e9))
    tail += field_varint(9, int(raw.get("time_nanos", 0))) + field_varint(10, int(dur or 0))
    if raw.get("period_type"):
        t, u = raw["period_type"]
        tail += field_bytes(11, field_varint(1, S(t)) + field_varint(2, S(u)), keep_empty=True)
    tail += field_varint(12, int(raw.get("period", 0)))
    if raw.get("comments"):
        tail += field_packed(13, [S(c) for c in raw["comments"]])
    for fno, key in ((14, "default_sample_type"), (7, "drop_frames"), (8, "keep_frames"),
                     (15, "doc_url")):
        if raw.get(key):
            tail += field_varint(fno, S(raw[key]))

    body = b"".join(out) + b"".join(samples)
    body += b"".join(field_bytes(3, m, keep_empty=True) for m in mappings)
    body += b"".join(field_bytes(4, m, keep_empty=True) for m in locations)
    body += b"".join(field_bytes(5, m, keep_empty=True) for m in functions)
    body += b"".join(field_bytes(6, s.encode("utf-8", "replace"), keep_empty=True)
                     for s in S.table)
    f.write(body + tail)
