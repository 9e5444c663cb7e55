"""Hand-built .aec containers, chunk by chunk, for the tests of the Python and JavaScript readers.

The builders write bytes the way the container spec (aecodec/bitstream/spec.py) lays them out,
without aecodec's writer, so a test can build a file the writer would refuse to write.
"""

from __future__ import annotations

import struct
import zlib

from aecodec.bitstream import SIGNATURE

SHA = bytes.fromhex("0123456789abcdef")


def chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def container(*chunks: tuple[bytes, bytes]) -> bytes:
    return SIGNATURE + b"".join(chunk(t, d) for t, d in chunks)


def head(major=1, minor=0, model=b"m1", width=7, height=5, mode=b"RGB", quality=7550, flags=0, extra=b"") -> bytes:
    return (
        bytes([major, minor, len(model)]) + model + SHA + struct.pack(">II", width, height)
        + bytes([len(mode)]) + mode + struct.pack(">HH", quality, flags) + extra
    )


def bits(name=b"y", shape=(1, 2, 3), payload=b"abc", ndim=None) -> bytes:
    ndim = len(shape) if ndim is None else ndim
    return bytes([len(name)]) + name + bytes([ndim]) + struct.pack(f">{len(shape)}I", *shape) + payload


HEAD_OK = (b"HEAD", head())
BITS_OK = (b"BITS", bits())
SCRC_OK = (b"SCRC", struct.pack(">I", 42))
AEND_OK = (b"AEND", b"")


def minimal(*middle: tuple[bytes, bytes]) -> bytes:
    """A valid container: header, one BITS chunk, the symbol CRC, ``middle``, the end marker."""
    return container(HEAD_OK, BITS_OK, SCRC_OK, *middle, AEND_OK)
