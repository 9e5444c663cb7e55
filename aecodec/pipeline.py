"""The only module that wires image I/O → codec → container and back.

::

    compress:   source ─imageio.prepare─► RGB uint8 (+alpha, mode, ICC, EXIF)
                       ─pad to ×16 (edge)─► codec.compress ─► streams + symbol CRC
                       ─bitstream.write_container─► bytes
    decompress: bytes ─bitstream.read_container─► zoo.codec_for(model id, sha prefix)
                      ─codec.decompress─► crop ─imageio.to_pil─► PIL image
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image

from aecodec import bitstream, imageio, latent_priors, ratecontrol, zoo
from aecodec.codecs.frozen import QUALITY_MAX, QUALITY_MIN, CodedLatents, FrozenHyperprior, QuantizedLatents
from aecodec.errors import FormatError, InputError
from aecodec.files import read_bytes
from aecodec.metrics import bpp, psnr
from aecodec.ratecontrol import RateTarget

# The transforms run in tiles (aecodec.codecs.tiling), but the latents and their entropy
# parameters grow with the image: benchmarks/memory.py measures the peak of every command up
# to 50 megapixels (results/memory.json). Larger images are refused before any allocation
# rather than risking the machine's memory.
MAX_PIXELS = 64_000_000
SIZE_BACKOFF = 0.05  # quality step down when a coded file overshoots a size target
T = TypeVar("T")


def _check_quality(quality: float) -> float:
    try:
        quality = float(quality)
    except (TypeError, ValueError) as exc:
        raise InputError(f"quality must be a number from {QUALITY_MIN:g} to {QUALITY_MAX:g}") from exc
    if not QUALITY_MIN <= quality <= QUALITY_MAX:
        raise InputError(f"quality must be from {QUALITY_MIN:g} to {QUALITY_MAX:g}, got {quality:g}")
    # The container stores hundredths; code with exactly the value the decoder will read.
    return round(quality * 100) / 100


def _check_size(prepared: imageio.PreparedImage) -> None:
    if prepared.width * prepared.height > MAX_PIXELS:
        raise InputError(f"image is {prepared.width}×{prepared.height}; aecodec codes images of up to {MAX_PIXELS // 1_000_000} megapixels")


def _pad(rgb: np.ndarray, multiple: int) -> np.ndarray:
    """(H, W, 3) uint8 → (3, H', W') uint8, edge-padded to ``multiple`` (the codec converts tiles to float)."""
    return imageio.pad_edges(rgb, multiple).transpose(2, 0, 1)


def _prior(model_id: str, target: RateTarget, pixels: int, codec: FrozenHyperprior, latent: np.ndarray) -> ratecontrol.Prior | None:
    """Where rate control starts and how it steers: the curve :mod:`aecodec.latent_priors`
    predicts for this image when the model has the fit for it, else the model's typical
    curve (its validation results); for sizes in bytes, otherwise in the target's unit.

    Measured on the 24 validation photos (exact trials / estimates per search): PSNR targets
    28 / 30 / 32 / 34 dB 2.25 / 1.96 from the predicted curve, 2.51 / 2.59 from the typical
    one; bpp targets 0.15 / 0.25 / 0.5 / 1 / 1.5 1.89 / 1.47 against 2.19 / 2.73, and none of
    those 114 searches needed a third trial (24 did from the typical curve). Raising the
    predicted PSNR curve by 0.25-1 dB, so that the first trial falls below the goal and
    estimates extrapolate upwards, gave 2.14-2.32 / 1.90-2.19: no better.
    """
    weights = zoo.latent_prior_weights(model_id, "psnr" if target.kind == "psnr" else "bits", codec.latent_channels)
    if weights is not None and target.kind == "psnr":
        return latent_priors.predicted_psnr(codec, latent, weights)
    if weights is not None:
        per_unit = 8.0 if target.kind == "size" else float(pixels)
        return [(quality, bits / per_unit) for quality, bits in latent_priors.predicted_bits(codec, latent, weights)]
    curves = zoo.validation_curves(model_id)
    if curves is None:
        return None
    if target.kind == "size":
        return [(quality, rate * pixels / 8) for quality, rate in curves["bpp"]]
    return curves[target.kind]


def compress(
    image: str | Path | Image.Image | np.ndarray,
    quality: float = 75.0,
    model: str | None = None,
    backend: str = "auto",
    target: RateTarget | None = None,
    refine_steps: int = 0,
) -> bytes:
    """Compress an image to the bytes of an .aec file.

    Args:
        image: Path, PIL image, or uint8 array (H, W), (H, W, 3) or (H, W, 4).
        quality: 1 (smallest) to 100 (best); continuous, stored to 1/100.
        model: Model id (default: the manifest's default model).
        backend: Inference backend for the float transforms.
        target: A bpp, file-size or PSNR target; when given, ``quality`` is ignored and the
            quality that meets the target is searched (see :mod:`aecodec.ratecontrol`). The
            analysis transform runs once; each trial only re-quantizes and costs the
            symbols (and, for PSNR, runs the synthesis transform); the steps between
            trials follow the image's rate or PSNR estimated from the latest trial. The
            file records the target and the value reached in its ``tRGT`` chunk.
        refine_steps: Gradient steps of encoder-side latent refinement
            (:mod:`aecodec.codecs.refine`; needs torch): 0 codes g_a's latent as it is, more
            steps give smaller files at the same quality for proportionally more encoding
            time. With a target, the latent is refined once, at the quality the search
            tries first (where the curve predicted for the image meets the target), and the
            search runs on it.

    Raises:
        InputError: Bad image, quality or step count, or a target no quality can meet.
    """
    if target is None:
        quality = _check_quality(quality)
    if not isinstance(refine_steps, int) or refine_steps < 0:
        raise InputError(f"refinement steps must be a whole number ≥ 0, got {refine_steps!r}")
    prepared = imageio.prepare(image)
    _check_size(prepared)
    model_id = model or zoo.default_model_id()
    codec = zoo.load_codec(model_id, backend)
    latent = codec.analyse(_pad(prepared.rgb, codec.stride))  # the padded copy goes once analysed
    prior = None if target is None else _prior(model_id, target, prepared.width * prepared.height, codec, latent)
    if refine_steps:
        refined_at = quality if target is None else ratecontrol.first_quality(target, prior)
        latent = zoo.load_refiner(model_id).refine(_pad(prepared.rgb, codec.stride), latent, codec.rate_parameter(refined_at), refine_steps)
    if target is None or target.kind != "psnr":
        prepared = _without_pixels(prepared)  # only a PSNR search reads them again
    if target is None:
        return _container(prepared, model_id, quality, codec.encode(codec.quantize(latent, quality)))
    record_length = len(ratecontrol.pack_record(target, 0.0))  # every record has this length
    quantize = _latest_only(lambda trial_quality: codec.quantize(latent, trial_quality))
    stream_bits = _latest_only(lambda trial_quality: codec.information(quantize(trial_quality)))  # measure and estimator both cost the trial

    # Trials estimate the file size from the ideal code lengths (the range coder adds at most
    # a word per stream) instead of range coding; only the chosen quality is coded.
    shapes = codec.latent_shapes(prepared.height, prepared.width)
    empty = CodedLatents({name: (shape, b"") for name, shape in shapes.items()}, 0)
    framing = len(_container(prepared, model_id, QUALITY_MAX, empty, bytes(record_length)))

    def file_bytes(stream_bits: tuple[np.ndarray, ...]) -> int:
        return framing + sum(4 * math.ceil(bits.sum() / 32) for bits in stream_bits)

    def value_of_size(size: float) -> float:
        return size if target.kind == "size" else bpp(size, prepared.width, prepared.height)

    def decoded_psnr(quantized: QuantizedLatents, trial_quality: float) -> float:
        rgb = _decoded_rgb(codec, quantized, trial_quality, prepared.height, prepared.width)
        return psnr(prepared.rgb, _as_decoded_rgb(rgb, prepared.mode))

    def measure(trial_quality: float) -> float:
        if target.kind == "psnr":
            return decoded_psnr(quantize(trial_quality), trial_quality)
        return value_of_size(file_bytes(stream_bits(trial_quality)))

    def estimator(trial_quality: float) -> ratecontrol.Estimate:
        reference = quantize(trial_quality)  # the trial just measured: still cached
        if target.kind == "psnr":
            return lambda other: decoded_psnr(codec.estimated_quantization(latent, reference, trial_quality, other), other)
        trial_bits = stream_bits(trial_quality)
        flush = file_bytes(trial_bits) - framing - sum(bits.sum() for bits in trial_bits) / 8  # so the estimate is exact here
        return lambda other: value_of_size(framing + flush + codec.estimated_bits(latent, reference, trial_quality, other) / 8)

    result = ratecontrol.search_quality(measure, target, prior, estimator)
    quality = result.quality
    coded = codec.encode(quantize(quality))
    size = len(_container(prepared, model_id, quality, coded, bytes(record_length)))
    while target.kind == "size" and size > target.value and quality > QUALITY_MIN:
        quality = max(QUALITY_MIN, round(quality - SIZE_BACKOFF, 2))  # the estimate was a few bytes short
        coded = codec.encode(quantize(quality))
        size = len(_container(prepared, model_id, quality, coded, bytes(record_length)))
    if target.kind == "size" and size > target.value:
        raise InputError(f"target {target.describe()} is below what this image reaches at quality 1 ({target.describe(size)})")
    if target.kind == "psnr":
        reached = result.value  # measured on exactly these symbols
    else:
        reached = size if target.kind == "size" else bpp(size, prepared.width, prepared.height)
    return _container(prepared, model_id, quality, coded, ratecontrol.pack_record(target, reached))


def _without_pixels(prepared: imageio.PreparedImage) -> imageio.PreparedImage:
    """``prepared`` letting go of its pixels, which are as large as the latent's symbols and
    would stay in memory through quantization and coding: a copy of one pixel broadcast to
    the image's shape (a read-only view of that copy, not of the pixels) keeps the size the
    container records."""
    return replace(prepared, rgb=np.broadcast_to(prepared.rgb[:1, :1].copy(), prepared.rgb.shape))


def _latest_only(function: Callable[[float], T]) -> Callable[[float], T]:
    """``function`` remembering its result for the latest argument only: a rate search asks
    for the same trial several times, and a trial's latents can be large."""
    latest: dict[float, T] = {}

    def remembered(argument: float) -> T:
        if argument not in latest:
            latest.clear()
            latest[argument] = function(argument)
        return latest[argument]

    return remembered


def _container(prepared: imageio.PreparedImage, model_id: str, quality: float, coded: CodedLatents, rate_target: bytes | None = None) -> bytes:
    """The .aec bytes of coded latents and the image's side data."""
    header = bitstream.Header(
        model_id=model_id,
        weights_sha256_prefix=zoo.entry(model_id).sha256_prefix,
        width=prepared.width,
        height=prepared.height,
        mode=prepared.mode,
        quality=quality,
    )
    container = bitstream.Container(
        header=header,
        streams=tuple(bitstream.Stream(name, tuple(shape), payload) for name, (shape, payload) in coded.streams.items()),
        symbol_crc=coded.symbol_crc,
        alpha=imageio.encode_alpha(prepared.alpha) if prepared.alpha is not None else None,
        icc_profile=imageio.deflate(prepared.icc_profile) if prepared.icc_profile else None,
        exif=prepared.exif,
        rate_target=rate_target,
    )
    return bitstream.write_container(container)


def _decoded_rgb(codec: FrozenHyperprior, quantized: QuantizedLatents, quality: float, height: int, width: int) -> np.ndarray:
    """The (height, width, 3) uint8 image, synthesised tile by tile and cropped from the padding."""
    rgb = np.empty((height, width, 3), dtype=np.uint8)
    for rows, cols, pixels in codec.reconstruct_tiles(quantized, quality):
        rows, cols = slice(rows.start, min(rows.stop, height)), slice(cols.start, min(cols.stop, width))
        visible = pixels[:, : rows.stop - rows.start, : cols.stop - cols.start]
        rgb[rows, cols] = np.round(visible * 255).astype(np.uint8).transpose(1, 2, 0)
    return rgb


def _as_decoded_rgb(rgb: np.ndarray, mode: str) -> np.ndarray:
    """RGB of what :func:`decompress` returns for decoded ``rgb`` (gray images are made gray)."""
    if mode in ("L", "LA"):
        return np.asarray(imageio.to_pil(rgb, mode).convert("RGB"))
    return rgb


def decompress(data: bytes, backend: str = "auto") -> Image.Image:
    """Decode the bytes of an .aec file to a PIL image in the original mode."""
    container, codec = _open(data, backend)
    header = container.header
    rgb = _decoded_rgb(codec, codec.decode_symbols(_coded(container)), header.quality, header.height, header.width)
    alpha = None
    if header.mode in ("RGBA", "LA"):
        if container.alpha is None:
            raise FormatError(f"{header.mode} file has no alpha plane")
        alpha = imageio.decode_alpha(container.alpha, header.width, header.height)
    icc_profile = imageio.inflate(container.icc_profile, "ICC profile", imageio.MAX_ICC_BYTES) if container.icc_profile else None
    return imageio.to_pil(rgb, header.mode, alpha, icc_profile, container.exif)


def _open(data: bytes, backend: str) -> tuple[bitstream.Container, FrozenHyperprior]:
    """Parse a container and load the codec it names, checking everything before decoding."""
    container = bitstream.read_container(data)
    header = container.header
    if header.mode not in ("RGB", "L", "RGBA", "LA"):
        raise FormatError(f"unsupported image mode {header.mode!r} in header")
    if header.width * header.height > MAX_PIXELS:
        # No file this version writes is that large; refusing it bounds decoder memory.
        raise FormatError(f"declared image size {header.width}×{header.height} is larger than this aecodec decodes")
    codec = zoo.codec_for(header.model_id, header.weights_sha256_prefix, backend)
    shapes = {s.name: tuple(s.shape) for s in container.streams}
    for name, expected in codec.latent_shapes(header.height, header.width).items():
        if shapes.get(name) != expected:
            raise FormatError(f"{name} stream shape {shapes.get(name)} does not match the image size in the header")
    return container, codec


def _coded(container: bitstream.Container) -> CodedLatents:
    return CodedLatents({s.name: (s.shape, s.payload) for s in container.streams}, container.symbol_crc)


def _aec_bytes(source: object) -> bytes | None:
    """The bytes of ``source`` if it is an .aec file (bytes or a path), else ``None``."""
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    if isinstance(source, (str, Path)) and Path(source).is_file():
        try:  # peek at the signature only: an image path is read once, by imageio
            with open(source, "rb") as handle:
                is_aec = handle.read(len(bitstream.SIGNATURE)) == bitstream.SIGNATURE
        except OSError:
            return None  # imageio reports the file's problem as an InputError
        return read_bytes(Path(source)) if is_aec else None
    return None


@dataclass(frozen=True)
class BitMap:
    """Where the bits of a coded image go.

    Attributes:
        bits: (H, W) float64 bits per pixel: the −log2 likelihood of every latent and
            hyper-latent element under the tables that code it, summed over channels and
            spread evenly over the pixels the element covers. It sums to the coded latent
            bits (the range coder adds only a few bytes of flush per stream).
        rgb: (H, W, 3) uint8 image the bits describe: the decoded image for an .aec input,
            the original for an image input.
        quality: Quality the latents were coded at.
    """

    bits: np.ndarray
    rgb: np.ndarray
    quality: float


def bit_map(source: str | Path | bytes | Image.Image | np.ndarray, quality: float = 75.0, model: str | None = None, backend: str = "auto") -> BitMap:
    """Bit-allocation map of an .aec file (path or bytes) or of an image coded at ``quality``.

    Regions the model finds surprising cost more bits, so the map doubles as an anomaly
    score. For an .aec file the latents are entropy-decoded only (no synthesis is needed
    for the bits; the image is decoded for the overlay).
    """
    data = _aec_bytes(source)
    if data is not None:
        container, codec = _open(data, backend)
        header = container.header
        symbols = codec.decode_symbols(_coded(container))
        rgb = _decoded_rgb(codec, symbols, header.quality, header.height, header.width)
        height, width, quality = header.height, header.width, header.quality
    else:
        quality = _check_quality(quality)
        prepared = imageio.prepare(source)
        _check_size(prepared)
        codec = zoo.load_codec(model or zoo.default_model_id(), backend)
        symbols = codec.quantize(codec.analyse(_pad(prepared.rgb, codec.stride)), quality)
        rgb, height, width = prepared.rgb, prepared.height, prepared.width
    z_bits, y_bits = codec.information(symbols)
    bits = _spread(y_bits, codec.stride, height, width) + _spread(z_bits, codec.hyper_stride, height, width)
    return BitMap(bits=bits, rgb=rgb, quality=quality)


def _spread(block_bits: np.ndarray, block: int, height: int, width: int) -> np.ndarray:
    """Spread per-block bits over the visible pixels of each ``block``×``block`` cell.

    Cells cut by the image border divide their bits among fewer pixels, so the map's sum
    stays the coded total even though the codec padded the image.
    """
    rows = np.minimum(block, height - block * np.arange(block_bits.shape[0]))
    cols = np.minimum(block, width - block * np.arange(block_bits.shape[1]))
    per_pixel = block_bits / (rows[:, None] * cols[None, :])
    return np.repeat(np.repeat(per_pixel, rows, axis=0), cols, axis=1)


def info(data: bytes) -> dict:
    """What a container says about itself, without decoding any pixels."""
    container = bitstream.read_container(data)
    header = container.header
    return {
        "model": header.model_id,
        "weights_sha256_prefix": header.weights_sha256_prefix.hex(),
        "format_version": "%d.%d" % header.format_version,
        "width": header.width,
        "height": header.height,
        "mode": header.mode,
        "quality": header.quality,
        "bytes": len(data),
        "bpp": bpp(len(data), header.width, header.height),
        "streams": {s.name: list(s.shape) for s in container.streams},
        "rate_target": _rate_target_info(container.rate_target),
        "chunks": [{"type": c.type, "offset": c.offset, "length": c.length} for c in container.chunks],
    }


def _rate_target_info(payload: bytes | None) -> dict | None:
    """The rate target a file records, as ``{"kind", "target", "reached"}``, if readable."""
    record = ratecontrol.unpack_record(payload) if payload else None
    if record is None:
        return None
    target, reached = record
    return {"kind": target.kind, "target": target.value, "reached": reached}
