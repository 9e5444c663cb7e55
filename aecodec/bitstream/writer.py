"""Serialises a :class:`Container` into ``.aec`` bytes (format 1.0).

The writer refuses (``ValueError``) anything the reader would refuse, so a file this module
produces always reads back: invalid values are bugs in the caller and are cheaper to find
at encode time than as a "corrupt file" report from a user.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Iterator

from .spec import (
    AEND,
    ALPH,
    BITS,
    EXIF,
    FORMAT_MAJOR,
    FORMAT_MINOR,
    HEAD,
    ICCP,
    MAX_CHUNK_LENGTH,
    MAX_CHUNKS,
    MAX_U32,
    MODE,
    MODEL_ID,
    SCRC,
    SIGNATURE,
    STREAM_NAME,
    TRGT,
    WEIGHTS_PREFIX_LEN,
    Container,
    Header,
    Stream,
    TextRule,
    is_int,
    shape_problem,
    size_problem,
)

_BYTES_LIKE = (bytes, bytearray, memoryview)


def write_container(container: Container) -> bytes:
    """Encodes a container as a complete ``.aec`` file.

    Chunks are written in the canonical order HEAD, BITS (in ``container.streams`` order),
    SCRC, ALPH, iCCP, eXIf, tRGT, AEND; optional chunks are omitted when their field is None.
    ``container.chunks`` is ignored: the chunk table is a property of the bytes.

    Args:
        container: What to store.

    Returns:
        The file contents.

    Raises:
        ValueError: A field the format cannot represent (wrong hash length, quality out of
            range, duplicate stream names, a version other than 1.0, ...).
    """
    if not isinstance(container, Container):
        raise ValueError(f"expected a Container, got {type(container).__name__}")
    out = bytearray(SIGNATURE)
    count = 0
    for chunk_type, data in _chunks(container):
        count += 1
        if count > MAX_CHUNKS:
            raise ValueError(f"a container holds at most {MAX_CHUNKS} chunks")
        if len(data) > MAX_CHUNK_LENGTH:
            raise ValueError(f"{chunk_type} chunk data is {len(data)} bytes (limit {MAX_CHUNK_LENGTH})")
        raw_type = chunk_type.encode("ascii")
        out += struct.pack(">I", len(data))
        out += raw_type
        out += data
        out += struct.pack(">I", zlib.crc32(data, zlib.crc32(raw_type)))
    return bytes(out)


def _chunks(container: Container) -> Iterator[tuple[str, bytes]]:
    """Yields ``(type, data)`` for every chunk, validating fields as it goes."""
    yield HEAD, _head_data(container.header)
    streams = tuple(container.streams)
    if not streams:
        raise ValueError("a container needs at least one stream")
    seen: set[str] = set()
    for stream in streams:
        data = _bits_data(stream)
        if stream.name in seen:
            raise ValueError(f"duplicate stream name {stream.name!r}")
        seen.add(stream.name)
        yield BITS, data
    if not is_int(container.symbol_crc) or not 0 <= container.symbol_crc <= MAX_U32:
        raise ValueError(f"symbol_crc {container.symbol_crc!r} is not a u32")
    yield SCRC, struct.pack(">I", container.symbol_crc)
    for chunk_type, blob in ((ALPH, container.alpha), (ICCP, container.icc_profile), (EXIF, container.exif), (TRGT, container.rate_target)):
        if blob is not None:
            if not isinstance(blob, _BYTES_LIKE):
                raise ValueError(f"{chunk_type} payload must be bytes, got {type(blob).__name__}")
            yield chunk_type, bytes(blob)
    yield AEND, b""


def _text(rule: TextRule, value: object) -> bytes:
    """Encodes a short text field as u8 length + ASCII after checking its rule."""
    if not isinstance(value, str):
        raise ValueError(f"{rule.what} must be a str, got {type(value).__name__}")
    problem = rule.problem(value)
    if problem:
        raise ValueError(problem)
    raw = value.encode("ascii")
    return bytes([len(raw)]) + raw


def _head_data(header: Header) -> bytes:
    """Encodes the HEAD chunk data (see the package docstring, section 5)."""
    if not isinstance(header, Header):
        raise ValueError(f"expected a Header, got {type(header).__name__}")
    if tuple(header.format_version) != (FORMAT_MAJOR, FORMAT_MINOR):
        raise ValueError(
            f"this writer produces format {FORMAT_MAJOR}.{FORMAT_MINOR}, not "
            f"{header.format_version!r} (restamp with dataclasses.replace)"
        )
    sha = header.weights_sha256_prefix
    if not isinstance(sha, _BYTES_LIKE) or len(sha) != WEIGHTS_PREFIX_LEN:
        raise ValueError(f"weights_sha256_prefix must be exactly {WEIGHTS_PREFIX_LEN} bytes, got {sha!r}")
    if not is_int(header.width) or not is_int(header.height):
        raise ValueError(f"width and height must be ints, got {header.width!r} and {header.height!r}")
    problem = size_problem(header.width, header.height)
    if problem:
        raise ValueError(problem)
    quality = header.quality
    if isinstance(quality, bool) or not isinstance(quality, (int, float)) or not math.isfinite(quality):
        raise ValueError(f"quality must be a finite number, got {quality!r}")
    if not 1.0 <= quality <= 100.0:
        raise ValueError(f"quality {quality!r} is outside 1.0..100.0")
    hundredths = round(quality * 100)
    return b"".join(
        (
            bytes([FORMAT_MAJOR, FORMAT_MINOR]),
            _text(MODEL_ID, header.model_id),
            bytes(sha),
            struct.pack(">II", header.width, header.height),
            _text(MODE, header.mode),
            struct.pack(">HH", hundredths, 0),
        )
    )


def _bits_data(stream: Stream) -> bytes:
    """Encodes one BITS chunk data (see the package docstring, section 6)."""
    if not isinstance(stream, Stream):
        raise ValueError(f"expected a Stream, got {type(stream).__name__}")
    name = _text(STREAM_NAME, stream.name)
    shape = tuple(stream.shape)
    if not all(is_int(dim) for dim in shape):
        raise ValueError(f"stream {stream.name!r} shape {shape!r} must hold ints")
    problem = shape_problem(shape)
    if problem:
        raise ValueError(f"stream {stream.name!r}: {problem}")
    if not isinstance(stream.payload, _BYTES_LIKE):
        raise ValueError(f"stream {stream.name!r} payload must be bytes, got {type(stream.payload).__name__}")
    return b"".join((name, bytes([len(shape)]), struct.pack(f">{len(shape)}I", *shape), bytes(stream.payload)))
