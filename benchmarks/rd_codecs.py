"""Codecs of the rate–distortion benchmark (``benchmarks/rd.py``).

Each codec is a :class:`Codec` subclass registered under its ``--codecs`` name in
:data:`CODECS`: Pillow's JPEG, WebP and AVIF, and this repository's learned codec. Only
:class:`AecodecCodec` needs the ``aecodec`` package, and it imports it when instantiated, so the
classical codecs run without it.
"""

from __future__ import annotations

import abc
import io
from collections.abc import Sequence

from PIL import Image


class Codec(abc.ABC):
    """One image codec under test: a name, a quality sweep and an in-memory round trip.

    Adding a codec (e.g. JPEG XL) is one subclass decorated with :func:`register`; the sweep
    should span roughly 0.1–3 bpp on natural images so that BD-rates have a wide overlap.
    """

    name: str = ""
    description: str = ""
    qualities: tuple[int, ...] = ()

    def __init__(self, qualities: Sequence[int] | None = None) -> None:
        if qualities is not None:
            self.qualities = tuple(qualities)

    @abc.abstractmethod
    def encode(self, image: Image.Image, quality: int) -> bytes:
        """The complete file the codec would write for ``image`` at ``quality``."""

    @abc.abstractmethod
    def decode(self, data: bytes) -> Image.Image:
        """The RGB image decoded from ``data`` (fully decoded, not lazily)."""


CODECS: dict[str, type[Codec]] = {}


def register(cls: type[Codec]) -> type[Codec]:
    """Make a codec selectable with ``--codecs <cls.name>``."""
    CODECS[cls.name] = cls
    return cls


class PillowCodec(Codec):
    """A codec Pillow can write and read; subclasses give the format and its save options."""

    format: str = ""

    def save_options(self, quality: int) -> dict[str, object]:
        """Keyword arguments for ``Image.save`` at this quality."""
        return {"quality": quality}

    def encode(self, image: Image.Image, quality: int) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format=self.format, **self.save_options(quality))
        return buffer.getvalue()

    def decode(self, data: bytes) -> Image.Image:
        with Image.open(io.BytesIO(data)) as decoded:
            return decoded.convert("RGB")  # convert() forces the full decode


@register
class JpegCodec(PillowCodec):
    """Baseline JPEG (libjpeg-turbo) with optimised Huffman tables and 4:2:0 chroma.

    The sweep stops at 90: many test sets (BSDS, and our val set's ``bsds_*`` images) are
    decoded JPEGs saved at about quality 95, and re-encoding them at 95 lands on the same
    quantisers — ~54 dB at 3 bpp, a re-compression artefact that would bend the anchor curve
    and flatter JPEG in every BD-rate. Quality 90 already reaches ~2.5 bpp.
    """

    name = "jpeg"
    description = "JPEG via Pillow/libjpeg-turbo, optimize=True, 4:2:0"
    format = "JPEG"
    qualities = (5, 10, 20, 30, 40, 50, 60, 70, 80, 85, 90)

    def save_options(self, quality: int) -> dict[str, object]:
        # 4:2:0 is libjpeg's default; spelled out so the anchor cannot change under us.
        return {"quality": quality, "optimize": True, "subsampling": "4:2:0"}


@register
class WebPCodec(PillowCodec):
    """Lossy WebP (libwebp, VP8) at its slowest, best-compressing method."""

    name = "webp"
    description = "WebP via Pillow/libwebp, lossy, method=6"
    format = "WEBP"
    qualities = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)

    def save_options(self, quality: int) -> dict[str, object]:
        return {"quality": quality, "method": 6}


@register
class AvifCodec(PillowCodec):
    """AVIF (AV1 intra) through Pillow's built-in AvifImagePlugin.

    Pillow 13's plugin reads ``quality`` (0–100, default 75), ``speed`` (0–10, default 6),
    ``subsampling`` (default "4:2:0"), ``max_threads`` (default: all cores), ``codec``,
    ``range``, ``tile_rows``/``tile_cols``/``autotiling`` and ``advanced`` from the save
    keywords. We fix ``max_threads=1`` so timings compare with the single-threaded JPEG and
    WebP encoders (and leave the other cores to whatever else runs). The quality sweep starts
    at 10 because below that libavif's rate barely drops any further.
    """

    name = "avif"
    description = "AVIF via Pillow/libavif, quality=q, speed=6, 4:2:0, max_threads=1"
    format = "AVIF"
    qualities = (10, 20, 30, 40, 50, 60, 70, 80, 85, 90, 95)

    def save_options(self, quality: int) -> dict[str, object]:
        return {"quality": quality, "speed": 6, "subsampling": "4:2:0", "max_threads": 1}


@register
class AecodecCodec(Codec):
    """The learned codec of this repository, through its public ``compress``/``decompress``."""

    name = "aecodec"
    description = "aecodec learned image codec (aecodec.compress / aecodec.decompress)"
    qualities = (1, 10, 25, 45, 65, 85, 100)
    refine_steps = 0

    def __init__(self, qualities: Sequence[int] | None = None) -> None:
        super().__init__(qualities)
        import aecodec  # imported here so the classical codecs run without aecodec's weights

        self._api = aecodec

    def encode(self, image: Image.Image, quality: int) -> bytes:
        return self._api.compress(image, quality=quality, refine_steps=self.refine_steps)

    def decode(self, data: bytes) -> Image.Image:
        return self._api.decompress(data).convert("RGB")


@register
class RefinedAecodecCodec(AecodecCodec):
    """The same file format and decoder, with encoder-side latent refinement (``--refine 40``)."""

    name = "aecodec-refined"
    description = "aecodec with encoder-side latent refinement, 40 steps (aecodec.compress(..., refine_steps=40); needs torch)"
    refine_steps = 40
