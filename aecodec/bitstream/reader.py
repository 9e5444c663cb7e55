"""Parses and validates ``.aec`` bytes (format 1.x).

The reader treats its input as hostile: every length is checked against the bytes actually
present and against the format's limits before anything is sliced, and every field is read
through :class:`_Fields`, which turns running off the end into a :class:`FormatError`.
The contract is that *no* input makes anything other than a ``FormatError`` (or one of its
subclasses) escape, so callers need a single ``except`` for "bad file".
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator

from ..errors import ChecksumError, FormatError, UnsupportedVersionError
from .spec import (
    AEND,
    ALPH,
    BITS,
    CHUNK_OVERHEAD,
    CHUNK_PREFIX,
    EXIF,
    FORMAT_MAJOR,
    FORMAT_MINOR,
    HEAD,
    ICCP,
    MAX_CHUNK_LENGTH,
    MAX_CHUNKS,
    MAX_NDIM,
    MODE,
    MODEL_ID,
    SCRC,
    SIGNATURE,
    SINGLETONS,
    STREAM_NAME,
    TRGT,
    WEIGHTS_PREFIX_LEN,
    ChunkInfo,
    Container,
    Header,
    Stream,
    TextRule,
    quality_problem,
    shape_problem,
    size_problem,
)

_CHUNK_TYPE = re.compile(rb"[A-Za-z]{4}")


def read_header(data: bytes) -> Header:
    """Reads only the signature and the HEAD chunk.

    Enough for ``aecodec info`` or for choosing a model before reading the rest; ``data``
    may be just a prefix of the file as long as it holds the whole HEAD chunk.

    Raises:
        FormatError: The signature, the HEAD framing, its CRC or one of its fields is bad.
        UnsupportedVersionError: The file needs a newer major format version.
    """
    view = _view(data)
    for info, body in _chunks(view):
        return _head(info, body)
    raise FormatError("truncated file: no chunks after the signature")


def read_container(data: bytes) -> Container:
    """Parses and fully validates a complete ``.aec`` file.

    Raises:
        FormatError: Anything malformed: bad signature, truncation, misplaced, duplicated,
            missing or unknown critical chunks, out-of-range fields, trailing data.
        ChecksumError: A chunk's CRC does not match (the file was corrupted).
        UnsupportedVersionError: The file needs a newer major format version.
    """
    view = _view(data)
    header: Header | None = None
    streams: list[Stream] = []
    names: set[str] = set()
    blobs: dict[str, bytes] = {}
    infos: list[ChunkInfo] = []
    for info, body in _chunks(view):
        infos.append(info)
        kind = info.type
        if header is None:
            header = _head(info, body)
            continue
        if kind in SINGLETONS and (kind == HEAD or kind in blobs):
            raise FormatError(f"duplicate {kind} chunk at offset {info.offset}")
        if kind == BITS:
            stream = _bits(info, body)
            if stream.name in names:
                raise FormatError(f"duplicate stream name {stream.name!r} in BITS chunk at offset {info.offset}")
            names.add(stream.name)
            streams.append(stream)
        elif kind == SCRC:
            if info.length != 4:
                raise FormatError(f"bad SCRC chunk at offset {info.offset}: {info.length} bytes, expected 4")
            blobs[kind] = bytes(body)
        elif kind in (ALPH, ICCP, EXIF, TRGT):
            blobs[kind] = bytes(body)
        elif kind == AEND:
            if info.length:
                raise FormatError(f"bad AEND chunk at offset {info.offset}: {info.length} bytes, expected 0")
            end = info.offset + CHUNK_OVERHEAD
            if end != len(view):
                raise FormatError(f"trailing data after AEND ({len(view) - end} bytes at offset {end})")
            break
        elif kind[0].isupper():
            raise FormatError(f"unknown critical chunk {kind!r} at offset {info.offset}")
        # Unknown ancillary chunks are safe to ignore; they stay listed in ``infos``.
    else:
        if header is None:
            raise FormatError("truncated file: no chunks after the signature")
        raise FormatError(f"truncated file: no AEND chunk (file ends at offset {len(view)})")
    if not streams:
        raise FormatError("no BITS chunk: the file holds no coded streams")
    if SCRC not in blobs:
        raise FormatError("missing SCRC chunk")
    return Container(
        header=header,
        streams=tuple(streams),
        symbol_crc=struct.unpack(">I", blobs[SCRC])[0],
        alpha=blobs.get(ALPH),
        icc_profile=blobs.get(ICCP),
        exif=blobs.get(EXIF),
        rate_target=blobs.get(TRGT),
        chunks=tuple(infos),
    )


def _view(data: bytes) -> memoryview:
    """Checks the signature and returns a byte view of ``data`` (slicing it copies nothing)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    view = memoryview(data).cast("B")
    if len(view) == 0:
        raise FormatError("empty file")
    if bytes(view[: len(SIGNATURE)]) != SIGNATURE:
        raise FormatError("not an .aec file (bad signature)")
    return view


def _chunks(view: memoryview) -> Iterator[tuple[ChunkInfo, memoryview]]:
    """Yields every chunk after the signature with its data, checking framing and CRC.

    Stops at the end of the input; whether that end is legitimate (AEND seen) is for the
    caller to decide. The first chunk must be HEAD, which is checked here so that
    :func:`read_header` and :func:`read_container` cannot disagree about it.
    """
    pos = len(SIGNATURE)
    end = len(view)
    count = 0
    while pos < end:
        if count == MAX_CHUNKS:
            raise FormatError(f"too many chunks (more than {MAX_CHUNKS})")
        if end - pos < CHUNK_PREFIX:
            raise FormatError(f"truncated file: incomplete chunk header at offset {pos}")
        (length,) = struct.unpack_from(">I", view, pos)
        raw_type = bytes(view[pos + 4 : pos + CHUNK_PREFIX])
        if length > MAX_CHUNK_LENGTH:
            raise FormatError(f"chunk at offset {pos} declares {length} bytes (limit {MAX_CHUNK_LENGTH})")
        if length > end - pos - CHUNK_OVERHEAD:
            raise FormatError(
                f"truncated file: chunk at offset {pos} declares {length} data bytes, needing "
                f"{length + 4} bytes with its CRC, but only {end - pos - CHUNK_PREFIX} remain"
            )
        if not _CHUNK_TYPE.fullmatch(raw_type):
            raise FormatError(f"invalid chunk type {raw_type!r} at offset {pos}")
        kind = raw_type.decode("ascii")
        body = view[pos + CHUNK_PREFIX : pos + CHUNK_PREFIX + length]
        (stored,) = struct.unpack_from(">I", view, pos + CHUNK_PREFIX + length)
        if zlib.crc32(body, zlib.crc32(raw_type)) != stored:
            raise ChecksumError(f"checksum mismatch in {kind} chunk at offset {pos} (the file is corrupt)")
        if count == 0 and kind != HEAD:
            raise FormatError(f"first chunk must be HEAD, found {kind!r} at offset {pos}")
        count += 1
        yield ChunkInfo(kind, pos, length), body
        pos += CHUNK_OVERHEAD + length


class _Fields:
    """Sequential reader over one chunk's data that reports short data as FormatError."""

    def __init__(self, info: ChunkInfo, body: memoryview) -> None:
        self._info = info
        self._body = body
        self._pos = 0

    def error(self, problem: str) -> FormatError:
        """Builds the error for a bad field, naming the chunk and where it is."""
        return FormatError(f"bad {self._info.type} chunk at offset {self._info.offset}: {problem}")

    def take(self, size: int, what: str) -> memoryview:
        """Returns the next ``size`` bytes, or raises if the chunk ends first."""
        if size > len(self._body) - self._pos:
            raise self.error(f"too short ({what} missing)")
        piece = self._body[self._pos : self._pos + size]
        self._pos += size
        return piece

    def uint(self, size: int, what: str) -> int:
        """Reads a big-endian unsigned integer of ``size`` bytes."""
        return int.from_bytes(self.take(size, what), "big")

    def text(self, rule: TextRule) -> str:
        """Reads a u8-length-prefixed ASCII field and checks it against ``rule``."""
        raw = bytes(self.take(self.uint(1, f"{rule.what} length"), rule.what))
        value = raw.decode("latin-1")  # never fails; the rule then rejects non-ASCII
        problem = rule.problem(value)
        if problem:
            raise self.error(problem)
        return value

    def rest(self) -> memoryview:
        """Returns everything not read yet."""
        piece = self._body[self._pos :]
        self._pos = len(self._body)
        return piece


def _head(info: ChunkInfo, body: memoryview) -> Header:
    """Parses HEAD data; the version is checked before the version-dependent fields."""
    fields = _Fields(info, body)
    major = fields.uint(1, "format major")
    minor = fields.uint(1, "format minor")
    if major > FORMAT_MAJOR:
        raise UnsupportedVersionError(
            f"file needs aecodec format version {major}.{minor}; "
            f"this aecodec reads {FORMAT_MAJOR}.x \u2014 upgrade aecodec"
        )
    if major < 1:
        raise fields.error(f"invalid format version {major}.{minor}")
    model_id = fields.text(MODEL_ID)
    sha = bytes(fields.take(WEIGHTS_PREFIX_LEN, "weights hash"))
    width = fields.uint(4, "width")
    height = fields.uint(4, "height")
    problem = size_problem(width, height)
    if problem:
        raise fields.error(problem)
    mode = fields.text(MODE)
    hundredths = fields.uint(2, "quality")
    problem = quality_problem(hundredths)
    if problem:
        raise fields.error(problem)
    flags = fields.uint(2, "flags")
    if (major, minor) <= (FORMAT_MAJOR, FORMAT_MINOR):
        # A newer minor may define safe-to-ignore flags and append fields; 1.0 may not.
        if flags:
            raise fields.error(f"reserved flags 0x{flags:04x} are set")
        extra = len(fields.rest())
        if extra:
            raise fields.error(f"{extra} unexpected bytes after the flags field")
    return Header(model_id, sha, width, height, mode, hundredths / 100, (major, minor))


def _bits(info: ChunkInfo, body: memoryview) -> Stream:
    """Parses BITS data; the shape is checked before the payload is copied."""
    fields = _Fields(info, body)
    name = fields.text(STREAM_NAME)
    ndim = fields.uint(1, "ndim")
    if not 1 <= ndim <= MAX_NDIM:
        raise fields.error(f"stream {name!r} has {ndim} dimensions (allowed 1..{MAX_NDIM})")
    shape = tuple(fields.uint(4, "shape") for _ in range(ndim))
    problem = shape_problem(shape)
    if problem:
        raise fields.error(f"stream {name!r}: {problem}")
    return Stream(name, shape, bytes(fields.rest()))
