"""Codecs of the rate–distortion benchmark (``benchmarks/rd.py``).

Each codec is a :class:`Codec` subclass registered under its ``--codecs`` name in
:data:`CODECS`: Pillow's JPEG, WebP and AVIF, JPEG XL through ``imagecodecs`` (libjxl), and
this repository's learned codec. Only :class:`AecodecCodec` needs the ``aecodec`` package and
only :class:`JpegXlCodec` needs ``imagecodecs`` (the ``bench`` extra); each imports its library
when instantiated, so the other codecs run without it. :meth:`Codec.missing` says whether a
codec can run here at all.
"""

from __future__ import annotations

import abc
import io
from collections.abc import Sequence

import numpy as np
from PIL import Image


class Codec(abc.ABC):
    """One image codec under test: a name, a quality sweep and an in-memory round trip.

    Adding a codec is one subclass decorated with :func:`register` (and :meth:`missing`
    overridden when it needs a library that may be absent); the sweep should span roughly
    0.1–3 bpp on natural images so that BD-rates have a wide overlap.
    """

    name: str = ""
    description: str = ""
    qualities: tuple[int, ...] = ()

    def __init__(self, qualities: Sequence[int] | None = None) -> None:
        if qualities is not None:
            self.qualities = tuple(qualities)

    @classmethod
    def missing(cls) -> str | None:
        """Why this codec cannot run on this machine (one line, e.g. a library that is not
        installed), or None when it can. Cheap, and never raises."""
        return None

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
class JpegXlCodec(Codec):
    """Lossy JPEG XL (libjxl) through ``imagecodecs``, at effort 7 (libjxl's and cjxl's default).

    ``quality`` is cjxl's ``--quality``: libjxl maps it to a Butteraugli distance with
    ``JxlEncoderDistanceFromQuality`` (90 → 1.0, "visually lossless"; 30 → 6.4). On Kodak the
    sweep spans about 0.14–2.9 bpp; below quality 5 the rate hardly drops further. The file is
    a bare codestream (no ISOBMFF container, as cjxl writes when there is no metadata), and the
    decoder returns 8-bit sRGB. Encoder and decoder run on one thread, like the other
    classical codecs here, so that times compare.

    ``imagecodecs`` (wheels with libjxl 0.11 built in; in the ``bench`` extra) was chosen over
    Debian's cjxl/djxl (libjxl 0.7, and a process plus files on disk per call, which the
    timings would include): it codes in memory, from and to arrays, with effort, quality and
    threads set explicitly.
    """

    name = "jxl"
    description = "JPEG XL via imagecodecs/libjxl, lossy, quality=q (cjxl mapping), effort=7, 1 thread"
    qualities = (5, 10, 20, 30, 40, 50, 60, 70, 80, 85, 90, 95)
    effort = 7

    def __init__(self, qualities: Sequence[int] | None = None) -> None:
        super().__init__(qualities)
        import imagecodecs  # imported here so the other codecs run without it

        self._jxl = imagecodecs
        # The results depend on libjxl's version: the JSON's description names it.
        self.description = f"{self.description}; {imagecodecs.jpegxl_version()}, imagecodecs {imagecodecs.__version__}"

    @classmethod
    def missing(cls) -> str | None:
        try:
            import imagecodecs
        except ImportError:
            return "imagecodecs is not installed (pip install 'aecodec[bench]')"
        except Exception as exc:  # a broken install (e.g. a shared library that fails to load)
            return f"imagecodecs cannot be imported: {exc}"
        if not getattr(getattr(imagecodecs, "JPEGXL", None), "available", False):
            return f"imagecodecs {imagecodecs.__version__} was built without JPEG XL"
        return None

    def encode(self, image: Image.Image, quality: int) -> bytes:
        pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
        return bytes(self._jxl.jpegxl_encode(pixels, level=quality, effort=self.effort, lossless=False, numthreads=1))

    def decode(self, data: bytes) -> Image.Image:
        pixels = self._jxl.jpegxl_decode(data, numthreads=1)
        if pixels.dtype != np.uint8:
            raise ValueError(f"expected an 8-bit JPEG XL file, decoded {pixels.dtype}")
        return Image.fromarray(pixels).convert("RGB")


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
        from aecodec.zoo import default_model_id

        self._api = aecodec
        self.description = f"{self.description}; model {default_model_id()}"  # which weights made the numbers

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
