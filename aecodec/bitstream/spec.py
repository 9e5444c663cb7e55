"""Constants, limits and value types of the ``.aec`` container (see the package docstring).

The writer and the reader share the field rules in this module so that they cannot drift
apart: each ``*_problem`` function returns a one-line description of what is wrong with a
value (or ``None``), and the caller decides whether that is a programmer error
(``ValueError`` in the writer) or a malformed file (``FormatError`` in the reader).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

FORMAT_MAJOR = 1
FORMAT_MINOR = 0
SIGNATURE = b"\x8bAEC\r\n\x1a\n"

# Chunk types. Uppercase first letter = critical, lowercase = ancillary.
HEAD = "HEAD"
BITS = "BITS"
SCRC = "SCRC"
ALPH = "ALPH"
ICCP = "iCCP"
EXIF = "eXIf"
TRGT = "tRGT"
AEND = "AEND"
SINGLETONS = frozenset({HEAD, SCRC, ALPH, ICCP, EXIF, TRGT, AEND})
"""Chunk types that may appear at most once (HEAD, SCRC and AEND exactly once)."""

# Sizes of the framing around each chunk's data: u32 length + 4-byte type, then u32 CRC.
CHUNK_PREFIX = 8
CHUNK_OVERHEAD = 12
WEIGHTS_PREFIX_LEN = 8

# Limits. The reader checks every one of them before it allocates or slices anything, so a
# hostile file cannot make it reserve memory in proportion to a number it merely declares.
MAX_CHUNK_LENGTH = 2**31
MAX_CHUNKS = 4096
MAX_SIDE = 65535
MAX_PIXELS = 2**28
MAX_NDIM = 4
MAX_DIM = 2**24
MAX_ELEMENTS = 2**32
MIN_QUALITY_HUNDREDTHS = 100
MAX_QUALITY_HUNDREDTHS = 10000
MAX_U32 = 2**32 - 1


@dataclass(frozen=True)
class TextRule:
    """The allowed spelling of one short ASCII text field (stored as u8 length + bytes).

    Attributes:
        what: Human-readable field name used in error messages.
        charset: Regular-expression character class of the allowed characters.
        max_len: Maximum number of characters (the minimum is always 1).
    """

    what: str
    charset: str
    max_len: int

    def problem(self, value: str) -> str | None:
        """Describes why ``value`` breaks the rule, or returns ``None`` if it is fine."""
        if re.fullmatch(f"{self.charset}{{1,{self.max_len}}}", value):
            return None
        return f"{self.what} {value!r} is not 1..{self.max_len} characters of {self.charset}"


MODEL_ID = TextRule("model id", "[a-z0-9._-]", 64)
MODE = TextRule("image mode", "[A-Za-z0-9;]", 8)
STREAM_NAME = TextRule("stream name", "[A-Za-z0-9._-]", 32)


def is_int(value: object) -> bool:
    """True for real integers; ``bool`` is excluded because ``True`` as a width is a bug."""
    return isinstance(value, int) and not isinstance(value, bool)


def size_problem(width: int, height: int) -> str | None:
    """Checks the declared image size against the side and pixel-count limits."""
    if 1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE and width * height <= MAX_PIXELS:
        return None
    return (
        f"image size {width}x{height} is out of range "
        f"(each side 1..{MAX_SIDE}, at most {MAX_PIXELS} pixels)"
    )


def shape_problem(shape: tuple[int, ...]) -> str | None:
    """Checks a stream shape: 1..4 dimensions, each 0..2**24, at most 2**32 elements."""
    if not 1 <= len(shape) <= MAX_NDIM:
        return f"shape has {len(shape)} dimensions (allowed 1..{MAX_NDIM})"
    if any(not 0 <= dim <= MAX_DIM for dim in shape):
        return f"shape {shape} has a dimension outside 0..{MAX_DIM}"
    if math.prod(shape) > MAX_ELEMENTS:
        return f"shape {shape} has more than {MAX_ELEMENTS} elements"
    return None


def quality_problem(hundredths: int) -> str | None:
    """Checks a stored quality (in hundredths) against 1.00..100.00."""
    if MIN_QUALITY_HUNDREDTHS <= hundredths <= MAX_QUALITY_HUNDREDTHS:
        return None
    return f"quality {hundredths / 100:.2f} is outside 1.00..100.00"


@dataclass(frozen=True)
class Header:
    """What a decoder must know before touching any entropy-coded stream.

    Attributes:
        model_id: Name of the model that coded the file, e.g. ``"hyperprior-q4.v1"``.
        weights_sha256_prefix: First 8 bytes of the SHA-256 of the weights file, so a
            decoder with different weights under the same id refuses instead of
            producing garbage.
        width: Image width in pixels.
        height: Image height in pixels.
        mode: Pillow image mode of the original, e.g. ``"RGB"``, ``"L"``, ``"RGBA"``.
        quality: Quality setting 1.0..100.0; stored in hundredths, so a read-back value is
            rounded to two decimals.
        format_version: ``(major, minor)`` of the container; the reader reports the file's
            version, the writer only accepts the version it implements.
    """

    model_id: str
    weights_sha256_prefix: bytes
    width: int
    height: int
    mode: str
    quality: float
    format_version: tuple[int, int] = (FORMAT_MAJOR, FORMAT_MINOR)


@dataclass(frozen=True)
class Stream:
    """One entropy-coded symbol stream (one ``BITS`` chunk).

    Attributes:
        name: Unique name the codec uses to find the stream, e.g. ``"z"`` or ``"y.escape"``.
        shape: Shape of the symbol tensor the payload decodes to.
        payload: The coded bytes, opaque to the container.
    """

    name: str
    shape: tuple[int, ...]
    payload: bytes


@dataclass(frozen=True)
class ChunkInfo:
    """Where one chunk sits in a file, for ``info`` output and debugging.

    Attributes:
        type: The four-letter chunk type, e.g. ``"BITS"``.
        offset: Offset of the chunk's length field from the start of the file.
        length: Number of data bytes (excluding length, type and CRC fields).
    """

    type: str
    offset: int
    length: int


@dataclass(frozen=True)
class Container:
    """Everything stored in one ``.aec`` file.

    Attributes:
        header: The ``HEAD`` chunk.
        streams: The ``BITS`` chunks, in file order.
        symbol_crc: CRC-32 of the decoded quantized symbols (``SCRC``), computed by the
            codec; the container only stores it so the decoder can detect a desync.
        alpha: The ``ALPH`` payload (the pipeline stores a zlib-compressed 8-bit plane).
        icc_profile: The ``iCCP`` payload, an ICC profile.
        exif: The ``eXIf`` payload, raw EXIF bytes.
        rate_target: The ``tRGT`` payload: the rate target the encoder met (section 4).
        chunks: Chunk table filled in by the reader (including skipped chunks); the
            writer ignores it.
    """

    header: Header
    streams: tuple[Stream, ...]
    symbol_crc: int
    alpha: bytes | None = None
    icc_profile: bytes | None = None
    exif: bytes | None = None
    rate_target: bytes | None = None
    chunks: tuple[ChunkInfo, ...] = ()


SCRC_LENGTH = 4  # the u32 symbol CRC
HEAD_FIXED_LENGTH = 24  # HEAD data without the model id and mode texts (section 5)


def framing_size(container: Container) -> int:
    """Bytes of the file :func:`~aecodec.bitstream.write_container` writes for ``container``
    beyond its stream payloads, computed from the layout (sections 2, 4, 5 and 6).

    An encoder that knows its streams' sizes (or estimates them) knows its file's size
    without writing one. Fields are not validated here; the writer does that.
    """
    header = container.header
    head = HEAD_FIXED_LENGTH + len(header.model_id.encode("ascii")) + len(header.mode.encode("ascii"))
    bits = sum(2 + len(stream.name.encode("ascii")) + 4 * len(stream.shape) for stream in container.streams)
    side = [blob for blob in (container.alpha, container.icc_profile, container.exif, container.rate_target) if blob is not None]
    chunks = 3 + len(container.streams) + len(side)  # HEAD, SCRC and AEND, then BITS and side data
    return len(SIGNATURE) + CHUNK_OVERHEAD * chunks + head + bits + SCRC_LENGTH + sum(len(blob) for blob in side)
