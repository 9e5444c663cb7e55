"""aecodec: learned image compression and restoration.

The public API is a thin facade; the heavy modules (numpy, torch, the codec) load on the
first call, so ``import aecodec`` is cheap and has no side effects::

    data = aecodec.compress("photo.png", quality=75)   # bytes of an .aec file
    image = aecodec.decompress(data)                     # PIL.Image.Image
    aecodec.info(data)                                   # header, chunks, bpp
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from aecodec.errors import (
    AecodecError,
    ChecksumError,
    DesyncError,
    FormatError,
    InputError,
    UnsupportedVersionError,
    WeightsMismatchError,
)

if TYPE_CHECKING:
    from PIL import Image

try:
    __version__ = version("aecodec")
except PackageNotFoundError:
    __version__ = "0.0.0+source"

__all__ = [
    "AecodecError",
    "ChecksumError",
    "DesyncError",
    "FormatError",
    "InputError",
    "UnsupportedVersionError",
    "WeightsMismatchError",
    "compress",
    "decompress",
    "info",
]


def compress(image: Any, quality: float = 75.0, model: str | None = None) -> bytes:
    """Compress a path, PIL image or uint8 array to .aec bytes (quality 1–100, higher is better)."""
    from aecodec import pipeline

    return pipeline.compress(image, quality=quality, model=model)


def decompress(data: bytes) -> "Image.Image":
    """Decode .aec bytes to a PIL image in the mode it was compressed from."""
    from aecodec import pipeline

    return pipeline.decompress(data)


def info(data: bytes) -> dict:
    """Header fields, chunk table, size and bpp of .aec bytes, without decoding pixels."""
    from aecodec import pipeline

    return pipeline.info(data)
