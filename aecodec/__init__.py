"""aecodec: learned image compression and restoration.

The public API is a thin facade; the heavy modules (numpy, torch, the codec) load on the
first call, so ``import aecodec`` is cheap and has no side effects::

    data = aecodec.compress("photo.png", quality=75)   # bytes of an .aec file
    data = aecodec.compress("photo.png", size=40_000)  # or bpp=0.5, or psnr=34
    result = aecodec.encode("photo.png", psnr=34)      # .data, .quality, .bpp, .target
    image = aecodec.decompress(data)                     # PIL.Image.Image
    aecodec.info(data)                                   # header, chunks, bpp, target
    bits = aecodec.bitmap(data)                          # (H, W) bits per pixel
    clean = aecodec.restore("noisy.jpg")                 # PIL.Image.Image, denoised
    color = aecodec.colorize("old.png")                  # gray → color, same luminance
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aecodec.codecs.quality import DEFAULT_QUALITY
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
    import numpy as np
    from PIL import Image

    from aecodec.pipeline import Compressed


__all__ = [
    "AecodecError",
    "ChecksumError",
    "DesyncError",
    "FormatError",
    "InputError",
    "UnsupportedVersionError",
    "WeightsMismatchError",
    "bitmap",
    "colorize",
    "compress",
    "decompress",
    "encode",
    "info",
    "restore",
]


def __getattr__(name: str) -> str:
    """``aecodec.__version__``, read from the installed package's metadata when first asked for.

    Reading it imports :mod:`importlib.metadata` (and through it email, zipfile, …) and
    scans the installed distributions; only ``--version`` and export records need the
    version, so the commands that code images never pay for it.
    """
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("aecodec")
    except PackageNotFoundError:
        found = "0.0.0+source"
    globals()["__version__"] = found  # later reads find it without calling here
    return found


def encode(
    image: Any,
    quality: float = DEFAULT_QUALITY,
    model: str | None = None,
    *,
    bpp: float | None = None,
    size: int | None = None,
    psnr: float | None = None,
    backend: str = "auto",
    refine_steps: int = 0,
) -> Compressed:
    """Compress a path, PIL image or uint8 array; the result holds the file and what it records.

    Give ``quality`` (1–100, higher is better), or one target: ``bpp`` (bits per pixel,
    ±3 %), ``size`` (bytes, never exceeded) or ``psnr`` (dB, at
    least, with the least bits). ``refine_steps`` > 0 (e.g. 40; needs torch) spends that
    many gradient steps finding a latent that codes this image better: smaller files at the
    same quality, slower encoding, decodable by any aecodec.

    Returns:
        A ``Compressed``: ``data`` (the .aec bytes), ``quality``, ``bpp`` and ``target``
        (the rate target and the value reached, or None), as :func:`info` reads them back.
    """
    from aecodec import pipeline
    from aecodec.ratecontrol.targets import RateTarget

    targets = [RateTarget(kind, value) for kind, value in (("bpp", bpp), ("size", size), ("psnr", psnr)) if value is not None]
    if len(targets) > 1:
        raise InputError("give at most one of bpp, size and psnr")
    return pipeline.encode(image, quality=quality, model=model, backend=backend, target=targets[0] if targets else None, refine_steps=refine_steps)


def compress(image: Any, *args: Any, **kwargs: Any) -> bytes:
    """The .aec bytes of :func:`encode`: ``encode(image, ...).data``, taking its arguments and raising its errors."""
    return encode(image, *args, **kwargs).data


def decompress(data: bytes, backend: str = "auto") -> Image.Image:
    """Decode .aec bytes to a PIL image in the mode it was compressed from."""
    from aecodec import pipeline

    return pipeline.decompress(data, backend=backend)


def info(data: bytes) -> dict:
    """Header fields, chunk table, size and bpp of .aec bytes, without decoding pixels."""
    from aecodec import pipeline

    return pipeline.info(data)


def bitmap(image_or_file: Any, quality: float = DEFAULT_QUALITY, backend: str = "auto") -> np.ndarray:
    """Bits each pixel costs, (H, W) float64: the codec's surprise, usable as an anomaly score.

    Args:
        image_or_file: .aec bytes or path (its own latents are read), or an image (path, PIL
            image or uint8 array), which is coded at ``quality`` first.
        quality: Quality for an image input.
        backend: Inference backend ("auto", "onnx" or "torch").

    Returns:
        −log2 likelihood of every latent and hyper-latent element, summed over channels and
        spread over the pixels it covers; the sum is the file's latent bits.
    """
    from aecodec import pipeline

    return pipeline.bit_map(image_or_file, quality=quality, backend=backend).bits


def restore(image: Any, task: str = "auto", sigma: float | None = None, backend: str = "auto") -> Image.Image:
    """Denoise and deblock a photo, or colorize a gray one, with the heads on the codec's backbone.

    Args:
        image: Path, PIL image or uint8 array; a float (H, W, 3) array is read on the 0–255
            scale without clipping.
        task: "auto" (colorize gray images, denoise color ones), "denoise" or "colorize".
        sigma: Noise standard deviation on the 0–255 scale; None estimates it.
        backend: Inference backend ("auto", "onnx" or "torch").
    """
    from aecodec import restoration

    return restoration.restore(image, task=task, sigma=sigma, backend=backend)[0]


def colorize(image: Any, backend: str = "auto") -> Image.Image:
    """Color a gray photo; the result's luminance (Pillow's ``convert("L")``) is the input's exactly."""
    return restore(image, task="colorize", backend=backend)
