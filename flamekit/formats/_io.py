"""Shared input handling for every importer (pipeline stage: formats).

One place decides how bytes become a stream: gzip is decompressed in a
streaming way under a size cap (gzip bombs stop at the cap, in bounded memory),
other compressors and containers are refused by their magic numbers, UTF-16
with a BOM is transcoded, invalid UTF-8 becomes U+FFFD, and CRLF / CR-only line
endings become ``\\n``. Line-oriented importers read through
:func:`iter_lines` (lists of complete lines, chunk by chunk) or
:func:`iter_line_blocks` (the same, cut at blank lines), never their own loop.
"""
from __future__ import annotations

import codecs
import contextlib
import io
import os
import stat
import sys
import zlib
from typing import BinaryIO, Callable, Iterator, TextIO

from ..atomic import protect_input
from ..errors import FormatError

#: Default cap on decompressed bytes of a compressed input (override per call
#: or with the FLAMEKIT_MAX_DECOMPRESSED environment variable, in bytes).
MAX_DECOMPRESSED = int(os.environ.get("FLAMEKIT_MAX_DECOMPRESSED", 4 * 1024**3))

#: Bytes given to ``sniff`` functions.
HEAD_SIZE = 64 * 1024

#: A profile holds one float64 per (sample, sample type). A format whose file does
#: not spell every one of them out (perf script: one event per sample, one column per
#: event) may make at most this many per byte of decompressed input, plus
#: :data:`VALUE_CELLS_FLOOR` (see :func:`check_value_cells`; docs/interop.md "Memory").
VALUE_CELLS_PER_BYTE = 1
VALUE_CELLS_FLOOR = 4 * 1024**2

_REFUSED_MAGIC = (
    (b"\x28\xb5\x2f\xfd", "zstd-compressed input is not supported (decompress it first: zstd -d)"),
    (b"PK\x03\x04", "zip containers are not supported (unzip it first)"),
    (b"BZh", "bzip2-compressed input is not supported (decompress it first: bunzip2)"),
    (b"\xfd7zXZ\x00", "xz-compressed input is not supported (decompress it first: unxz)"),
)


class _CappedGzip(io.RawIOBase):
    """A raw stream over one gzip layer that stops past ``cap`` decompressed bytes."""

    def __init__(self, raw: BinaryIO, source: str, cap: int, single_member: bool = False) -> None:
        self._single = single_member
        self._raw = raw
        self._source = source
        self._cap = cap
        self._d = zlib.decompressobj(wbits=31)
        self._out = 0
        self._buf = b""
        self._eof = False
        self._consumed = 0
        self._pending = b""
        self._members = 1

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        """Decompress until some output is buffered or the input ends.

        Every gzip member is read, as ``gzip -dc`` does (``gzip -c a b > c`` is
        one stream); trailing NUL padding is ignored, anything else after a
        member is an error. Input is carried across reads, so a member that
        starts at a read boundary, or a magic number split by one, is found.
        """
        while not self._buf and not self._eof:
            if self._d.eof:
                self._pending = self._d.unused_data + self._pending
                self._d = None  # type: ignore[assignment]
                if not self._next_member():
                    self._eof = True
                    break
            if self._d.unconsumed_tail:
                chunk = self._d.unconsumed_tail
            elif self._pending:
                chunk, self._pending = self._pending, b""
            else:
                chunk = self._read_raw()
                if not chunk:
                    raise self._error("corrupt/truncated gzip stream (ended early)")
            try:
                data = self._d.decompress(chunk, 1024 * 1024)
            except zlib.error as e:
                raise self._error(f"corrupt gzip data ({e})") from None
            self._out += len(data)
            if self._out > self._cap:
                raise self._error(f"decompressed size exceeds limit ({self._cap} bytes)")
            self._buf = data

    def _read_raw(self) -> bytes:
        chunk = self._raw.read(256 * 1024)
        self._consumed += len(chunk)
        return chunk

    def _next_member(self) -> bool:
        """After a member's end: start the next one (True) or confirm the end of input (False)."""
        while True:
            self._pending = self._pending.lstrip(b"\x00")
            if len(self._pending) >= 2:
                break
            more = self._read_raw()
            if not more:
                if self._pending:
                    raise self._error("trailing garbage after gzip stream")
                return False
            self._pending += more
        if self._pending[:2] != b"\x1f\x8b":
            raise self._error("trailing garbage after gzip stream")
        if self._single:
            raise self._error("concatenated profiles (more than one gzip member)")
        self._members += 1
        self._d = zlib.decompressobj(wbits=31)
        return True

    def _error(self, reason: str) -> FormatError:
        return FormatError("gzip", self._source, f"offset {self._consumed - len(self._pending)}",
                           reason)

    def readinto(self, b) -> int:  # type: ignore[override]
        self._fill()
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def _check_magic(head: bytes, source: str) -> None:
    for magic, msg in _REFUSED_MAGIC:
        if head.startswith(magic):
            raise FormatError(None, source, "offset 0", msg)


def open_binary(path: str | os.PathLike, *, max_decompressed: int | None = None,
                single_gzip_member: bool = False) -> BinaryIO:
    """Open a file as a buffered binary stream, transparently un-gzipping one layer.

    Raises :class:`FormatError` for unsupported compressors/containers; a gzip
    stream that is corrupt, truncated or larger than ``max_decompressed`` raises
    while it is being read.
    """
    source = os.fspath(path)
    try:
        f = open(source, "rb")
    except FileNotFoundError:
        raise FormatError(None, source, None, "no such file") from None
    except IsADirectoryError:
        raise FormatError(None, source, None, "is a directory, not a profile") from None
    except OSError as e:
        raise FormatError(None, source, None, f"cannot read: {e.strerror or e}") from None
    with contextlib.suppress(OSError):
        protect_input(os.fstat(f.fileno()), source)
    head = f.read(8)
    f.seek(0)
    _check_magic(head, source)
    if head[:2] == b"\x1f\x8b":
        cap = MAX_DECOMPRESSED if max_decompressed is None else max_decompressed
        return io.BufferedReader(_CappedGzip(f, source, cap, single_gzip_member),
                                 buffer_size=1024 * 1024)
    return f  # type: ignore[return-value]


#: Standard input, as a path: ``flamekit convert - -o x.folded``.
STDIN = "-"
_spooled: dict[str, str] = {}
_spool_dir: list[str] = []


def display_name(source: str) -> str:
    """How messages name an input (``<stdin>`` for ``-``)."""
    return "<stdin>" if source == STDIN else source


def readable_path(path: str | os.PathLike, *, cap: int | None = None) -> str:
    """Return a path the readers can open, seek and re-open for ``path``.

    A regular file is itself. Standard input (``-``), a pipe (``perf script |
    flamekit ...``, ``<(...)``) or a device is read once into a private
    temporary file (so detection can look at its head and the reader start
    over), at most ``cap`` bytes (default :data:`MAX_DECOMPRESSED`, the same cap
    as for decompression): an endless input such as ``/dev/zero`` stops there
    with a :class:`FormatError`. The copy is made once per process and removed
    by :func:`remove_spooled`.
    """
    source = os.fspath(path)
    if source in _spooled:
        return _spooled[source]
    if source != STDIN:
        try:
            st = os.stat(source)
        except OSError:
            return source  # the reader says what is wrong
        if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
            return source
    cap = MAX_DECOMPRESSED if cap is None else cap
    if not _spool_dir:
        import atexit
        import tempfile

        _spool_dir.append(tempfile.mkdtemp(prefix="flamekit-input-"))
        atexit.register(remove_spooled)
    target = os.path.join(_spool_dir[0], f"input-{len(_spooled)}")
    name = display_name(source)
    try:
        src = sys.stdin.buffer if source == STDIN else open(source, "rb")
    except OSError as e:
        raise FormatError(None, name, None, f"cannot read: {e.strerror or e}") from None
    total = 0
    try:
        with open(target, "wb") as out:
            while True:
                chunk = src.read(1024 * 1024)
                if not chunk:
                    break
                total += len(chunk)
                if total > cap:
                    raise FormatError(None, name, f"offset {cap}",
                                      f"input larger than the limit ({cap} bytes; an endless stream? "
                                      "FLAMEKIT_MAX_DECOMPRESSED raises it)")
                out.write(chunk)
    except OSError as e:
        raise FormatError(None, name, f"offset {total}", f"cannot read: {e.strerror or e}") from None
    finally:
        if src is not sys.stdin.buffer:
            src.close()
    _spooled[source] = target
    return target


def remove_spooled() -> None:
    """Remove the temporary copies made by :func:`readable_path`."""
    import shutil

    _spooled.clear()
    while _spool_dir:
        shutil.rmtree(_spool_dir.pop(), ignore_errors=True)


def renamed(e: FormatError, real: str, source: str) -> FormatError:
    """``e`` naming ``source`` where it names the temporary copy ``real``."""
    if real == source or e.source != real:
        return e
    return FormatError(e.fmt, display_name(source), e.where, e.reason)


def _bom_encoding(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    return None


def text_stream(binary: BinaryIO) -> TextIO:
    """Wrap a binary stream as text: BOM-sniffed encoding, U+FFFD for bad UTF-8, universal newlines."""
    buf = binary if isinstance(binary, io.BufferedReader) else io.BufferedReader(binary)  # type: ignore[arg-type]
    head = buf.peek(4)[:4]
    enc = _bom_encoding(head) or "utf-8"
    return io.TextIOWrapper(buf, encoding=enc, errors="replace", newline=None)


def open_text(path: str | os.PathLike, *, max_decompressed: int | None = None) -> TextIO:
    """Open a (possibly gzipped) file as text; see :func:`text_stream`."""
    return text_stream(open_binary(path, max_decompressed=max_decompressed))


def read_head(path: str | os.PathLike, n: int = HEAD_SIZE, *,
              max_decompressed: int | None = None) -> bytes:
    """Return up to ``n`` leading bytes after decompression, UTF-16/UTF-8 BOMs normalized to UTF-8.

    This is what the registry gives to each format's ``sniff``.
    """
    with open_binary(path, max_decompressed=max_decompressed) as f:
        head = f.read(n)
    return normalize_head(head)


def normalize_head(head: bytes) -> bytes:
    """Transcode a head with a UTF-16 BOM to UTF-8 and drop a UTF-8 BOM."""
    enc = _bom_encoding(head)
    if enc == "utf-8-sig":
        return head[3:]
    if enc == "utf-16":
        if len(head) % 2:
            head = head[:-1]
        return head.decode("utf-16", errors="replace").encode("utf-8")
    return head


def read_all_bytes(path: str | os.PathLike, *, limit: int | None = None,
                   max_decompressed: int | None = None, single_gzip_member: bool = False) -> bytes:
    """Read a whole (decompressed) file, refusing files larger than ``limit`` bytes.

    Reads in 1 MiB chunks, so memory follows the actual size, never the limit.
    ``single_gzip_member`` refuses concatenated gzip members (one profile per file).
    """
    chunks: list[bytes] = []
    got = 0
    with open_binary(path, max_decompressed=max_decompressed,
                     single_gzip_member=single_gzip_member) as f:
        while True:
            chunk = f.read(1024 * 1024)
            if not chunk:
                break
            got += len(chunk)
            if limit is not None and got > limit:
                raise FormatError(None, os.fspath(path), f"offset {limit}",
                                  f"file is larger than the {limit}-byte limit for this format")
            chunks.append(chunk)
    return b"".join(chunks)


def text_blocks(f: BinaryIO, chunk: int, *, reuse: bool = False) -> Iterator[bytes]:
    """Yield the text ``chunk`` bytes at a time as UTF-8 with LF line endings (cut anywhere).

    A UTF-8 BOM is dropped, UTF-16 (with a BOM) is decoded to UTF-8, CR and CRLF
    become LF (a CR at the end of a chunk waits for the next one). ``reuse``: read
    into one ``bytearray`` that each block overwrites (no fresh pages per block on
    big files), so a block is valid only until the next one is asked for.
    """
    first = f.read(chunk)
    full = len(first) == chunk  # a short read is the end (more is read, but not into a buffer)
    dec = None
    if first.startswith(codecs.BOM_UTF8):
        if len(first) == 3:  # a chunk of just the BOM is not the end
            first = f.read(chunk)
            full = len(first) == chunk
        else:
            first = first[3:]
    elif first.startswith(codecs.BOM_UTF16_LE) or first.startswith(codecs.BOM_UTF16_BE):
        dec = codecs.getincrementaldecoder("utf-16")(errors="replace")
    hold = b""
    block = first
    into: bytearray | None = None
    while True:
        eof = not block
        if dec is not None:
            block = dec.decode(block, final=eof).encode("utf-8", "surrogatepass")
        if hold:
            block, hold = hold + block, b""
        if b"\r" in block:
            if not eof and block.endswith(b"\r"):
                block, hold = block[:-1], b"\r"
            block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if eof and not block:
            return
        yield block
        if reuse and dec is None and full:  # the buffer only for a file longer than a chunk
            if into is None:  # (zeroing 8 MB costs a small file's report ~10 ms of page faults)
                into = bytearray(chunk)
            n = f.readinto(into)  # type: ignore[attr-defined]
            block = into if n == chunk else bytes(into[:n])
            full = n == chunk
        else:
            block = f.read(chunk)
            full = len(block) == chunk


def iter_lines(f: BinaryIO, chunk: int) -> Iterator[list[bytes]]:
    """Yield lists of complete lines (bytes without line endings, UTF-8), chunk by chunk.

    ``f`` is read ``chunk`` bytes at a time. Lines are split once per chunk and
    only the line cut by a chunk boundary is stitched, so the data is copied
    once. A UTF-8 BOM is dropped, UTF-16 (with a BOM) is decoded to UTF-8, CR
    and CRLF become LF (a CR at the end of a chunk waits for the next one). A
    last line without a newline is yielded too.
    """
    carry = b""
    for block in text_blocks(f, chunk):
        lines = block.split(b"\n")
        if carry:
            lines[0] = carry + lines[0]
        carry = lines.pop()
        if lines:
            yield lines
    if carry:
        yield [carry]


def iter_line_blocks(f: BinaryIO, chunk: int, *, max_block: int,
                     starts_record: Callable[[bytes], bool],
                     too_big: Callable[[int], Exception]) -> Iterator[tuple[list[bytes], int]]:
    """Yield ``(lines, number of the first line)`` cut at blank lines (:func:`iter_lines` below).

    Each list ends just before a blank line, so a record (a ``perf script``
    sample) is never split between two lists; the lines after a chunk's last
    blank line are carried over to the next one. Input without blank lines is
    cut, once more than ``chunk`` bytes are carried, before the last line for
    which ``starts_record(line)`` is true. More than ``max_block`` bytes without
    any cut raise ``too_big(line number)`` (bounded memory).
    """
    carry: list[bytes] = []
    carry_bytes = 0
    line = 1
    for new in iter_lines(f, chunk):
        if carry:
            carry.extend(new)
            lines = carry
        else:
            lines = new
        # the last blank line of the chunk ends what can be yielded now
        k = len(lines) - 1
        while k >= 0 and lines[k]:
            k -= 1
        if k < 0:  # rare (no blank line in a whole chunk): count the bytes held
            carry = lines
            carry_bytes += sum(map(len, new)) + len(new)
            if carry_bytes > chunk:
                m = len(lines) - 1
                while m > 0 and not starts_record(lines[m]):
                    m -= 1
                if m > 0:
                    carry = lines[m:]
                    carry_bytes = sum(map(len, carry)) + len(carry)
                    del lines[m:]
                    yield lines, line
                    line += m
            if carry_bytes > max_block:
                raise too_big(line)
            continue
        carry = lines[k + 1:]
        carry_bytes = 0  # less than one chunk: counted again only if no blank line follows
        del lines[k:]
        if lines:
            yield lines, line
        line += k + 1
    if carry and any(carry):
        yield carry, line


def check_value_cells(fmt: str, source: str, n: int, k: int, input_bytes: int,
                      what: str = "sample types") -> None:
    """Refuse a (samples x types) value matrix out of proportion to the input.

    Raises :class:`FormatError` when ``n * k`` exceeds ``VALUE_CELLS_PER_BYTE *
    input_bytes + VALUE_CELLS_FLOOR``, before anything of that size is allocated,
    so memory stays a fixed multiple of the input.
    """
    limit = VALUE_CELLS_PER_BYTE * max(input_bytes, 0) + VALUE_CELLS_FLOOR
    if n * k > limit:
        raise FormatError(fmt, source, None,
                          f"{n} samples x {k} {what} would need {n * k * 8 / 1e6:,.0f} MB "
                          f"(one value per sample and {what[:-1]}); flamekit's limit for "
                          f"{input_bytes:,} bytes of input is {limit:,} values: keep fewer "
                          f"{what} in the file")
