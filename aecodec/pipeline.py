"""The only module that wires image I/O → codec → container and back.

::

    encode:     source ─imageio.prepare─► RGB uint8 (+alpha, mode, ICC, EXIF)
                       ─pad to ×16 (edge)─► codec.analyze ─► latent
                       ─codec.quantize, codec.encode─► streams + symbol CRC
                       ─bitstream.write_container─► Compressed(data, quality, bpp, target)
                (with a target, ratecontrol.search_quality picks the quality on a TrialRunner)
    decompress: bytes ─bitstream.read_container─► assembly.codec_for(model id, sha prefix)
                      ─codec.decode_symbols, codec.reconstruct_rgb─► imageio.to_pil─► PIL image
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from aecodec import assembly, bitstream, imageio, zoo
from aecodec.codecs.frozen import FrozenHyperprior
from aecodec.codecs.quality import DEFAULT_QUALITY, QUALITY_MAX, QUALITY_MIN, checked_quality
from aecodec.codecs.streams import CodedLatents
from aecodec.errors import FormatError, InputError
from aecodec.files import read_bytes
from aecodec.metrics import bpp
from aecodec.ratecontrol import predicted_curves
from aecodec.ratecontrol.record import TargetRecord
from aecodec.ratecontrol.search import first_quality, search_quality
from aecodec.ratecontrol.steering import Curve
from aecodec.ratecontrol.targets import RateTarget
from aecodec.ratecontrol.trials import TrialRunner

SIZE_BACKOFF = 0.05  # quality step down when a coded file overshoots a size target


@dataclass(frozen=True)
class Compressed:
    """One encoded image: the file and what it records.

    Attributes:
        data: The bytes of the .aec file.
        quality: The quality it was coded at, as its header stores it.
        bpp: Bits per pixel of the whole file.
        target: The rate target and the value reached, as its ``tRGT`` chunk stores them, or
            None for a plain quality.
    """

    data: bytes
    quality: float
    bpp: float
    target: TargetRecord | None = None


def _pad(rgb: np.ndarray, multiple: int) -> np.ndarray:
    """(H, W, 3) uint8 → (3, H', W') uint8, edge-padded to ``multiple`` (the codec converts tiles to float)."""
    return imageio.pad_edges(rgb, multiple).transpose(2, 0, 1)


def _steering_curve(model_id: str, target: RateTarget, pixels: int, codec: FrozenHyperprior, latent: np.ndarray) -> Curve | None:
    """Where rate control starts and how it steers: the curve
    :mod:`~aecodec.ratecontrol.predicted_curves` predicts for this image when the model has
    the fit for it, else the model's typical curve (its validation results); for sizes in
    bytes, otherwise in the target's unit. The predicted curve saves trials
    (benchmarks/DECISIONS.md).
    """
    weights = zoo.latent_prior_weights(model_id, "psnr" if target.kind == "psnr" else "bits", codec.latent_channels)
    if weights is not None and target.kind == "psnr":
        return predicted_curves.predicted_psnr(codec, latent, weights)
    if weights is not None:
        per_unit = 8.0 if target.kind == "size" else float(pixels)
        return [(quality, bits / per_unit) for quality, bits in predicted_curves.predicted_bits(codec, latent, weights)]
    curves = zoo.validation_curves(model_id)
    if curves is None:
        return None
    if target.kind == "size":
        return [(quality, rate * pixels / 8) for quality, rate in curves["bpp"]]
    return curves[target.kind]


def encode(
    image: str | Path | Image.Image | np.ndarray,
    quality: float = DEFAULT_QUALITY,
    model: str | None = None,
    backend: str = "auto",
    target: RateTarget | None = None,
    refine_steps: int = 0,
) -> Compressed:
    """Encode an image to an .aec file, at a quality or to a rate target.

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
        quality = checked_quality(quality)
    if not isinstance(refine_steps, int) or refine_steps < 0:
        raise InputError(f"refinement steps must be a whole number ≥ 0, got {refine_steps!r}")
    prepared = imageio.prepare(image)
    imageio.check_pixels(prepared.width, prepared.height)
    model_id = model or zoo.default_model_id()
    codec = assembly.load_codec(model_id, backend)
    latent = codec.analyze(_pad(prepared.rgb, codec.stride))  # the padded copy goes once analyzed
    curve = None if target is None else _steering_curve(model_id, target, prepared.width * prepared.height, codec, latent)
    if refine_steps:
        refined_at = quality if target is None else first_quality(target, curve)
        latent = assembly.load_refiner(model_id).refine(_pad(prepared.rgb, codec.stride), latent, codec.rate_parameter(refined_at), refine_steps)
    if target is None or target.kind != "psnr":
        prepared = _without_pixels(prepared)  # only a PSNR search reads them again
    encoder = _LatentEncoder(codec, latent, prepared, model_id)
    return encoder.at_quality(quality) if target is None else encoder.meeting(target, curve)


class _LatentEncoder:
    """One analyzed image, coded into containers at a quality or to a target.

    The side data (alpha, ICC, EXIF) is packed once, into a template container.
    """

    def __init__(self, codec: FrozenHyperprior, latent: np.ndarray, prepared: imageio.PreparedImage, model_id: str) -> None:
        self.codec = codec
        self.latent = latent
        self.prepared = prepared
        header = bitstream.Header(
            model_id=model_id,
            weights_sha256_prefix=zoo.entry(model_id).sha256_prefix,
            width=prepared.width,
            height=prepared.height,
            mode=prepared.mode,
            quality=QUALITY_MAX,
        )
        self.template = bitstream.Container(
            header=header,
            streams=(),
            symbol_crc=0,
            alpha=imageio.encode_alpha(prepared.alpha) if prepared.alpha is not None else None,
            icc_profile=imageio.deflate(prepared.icc_profile) if prepared.icc_profile else None,
            exif=prepared.exif,
        )

    def at_quality(self, quality: float) -> Compressed:
        """The file of the latent coded at ``quality`` (already checked)."""
        return self._compressed(self._container(quality, self.codec.encode(self.codec.quantize(self.latent, quality))))

    def meeting(self, target: RateTarget, curve: Curve | None) -> Compressed:
        """The file at the quality that meets ``target``, found by a search steered by ``curve``."""
        codec, prepared = self.codec, self.prepared
        reserved = bytes(TargetRecord.SIZE)  # every record has this length
        shapes = codec.latent_shapes(prepared.height, prepared.width)
        empty = replace(self.template, streams=tuple(bitstream.Stream(name, shape, b"") for name, shape in shapes.items()), rate_target=reserved)
        trials = TrialRunner(codec, self.latent, target, prepared, bitstream.framing_size(empty))
        result = search_quality(trials.measure, target, curve, trials.estimator)
        quality = result.quality
        container = self._container(quality, codec.encode(trials.quantized(quality)), reserved)
        size = _file_size(container)
        while target.kind == "size" and size > target.value and quality > QUALITY_MIN:
            quality = max(QUALITY_MIN, round(quality - SIZE_BACKOFF, 2))  # the estimate was a few bytes short
            container = self._container(quality, codec.encode(trials.quantized(quality)), reserved)
            size = _file_size(container)
        if target.kind == "size" and size > target.value:
            raise InputError(f"target {target.describe()} is below what this image reaches at quality 1 ({target.describe(size)})")
        if target.kind == "psnr":
            reached = result.value  # measured on exactly these symbols
        else:
            reached = size if target.kind == "size" else bpp(size, prepared.width, prepared.height)
        return self._compressed(replace(container, rate_target=TargetRecord(target, reached).pack()))

    def _container(self, quality: float, coded: CodedLatents, rate_target: bytes | None = None) -> bitstream.Container:
        header = replace(self.template.header, quality=quality)
        return replace(self.template, header=header, streams=coded.streams, symbol_crc=coded.symbol_crc, rate_target=rate_target)

    def _compressed(self, container: bitstream.Container) -> Compressed:
        data = bitstream.write_container(container)
        record = TargetRecord.unpack(container.rate_target) if container.rate_target else None
        return Compressed(data, container.header.quality, bpp(len(data), container.header.width, container.header.height), record)


def _file_size(container: bitstream.Container) -> int:
    """Bytes of the file ``container`` writes, without writing it."""
    return bitstream.framing_size(container) + sum(len(stream.payload) for stream in container.streams)


def _without_pixels(prepared: imageio.PreparedImage) -> imageio.PreparedImage:
    """``prepared`` letting go of its pixels, which are as large as the latent's symbols and
    would stay in memory through quantization and coding: a copy of one pixel broadcast to
    the image's shape (a read-only view of that copy, not of the pixels) keeps the size the
    container records."""
    return replace(prepared, rgb=np.broadcast_to(prepared.rgb[:1, :1].copy(), prepared.rgb.shape))


def decompress(data: bytes, backend: str = "auto") -> Image.Image:
    """Decode the bytes of an .aec file to a PIL image in the original mode."""
    container, codec = _open(data, backend)
    header = container.header
    rgb = codec.reconstruct_rgb(codec.decode_symbols(_coded(container)), header.quality, header.height, header.width)
    alpha = None
    if header.mode in imageio.ALPHA_MODES:
        if container.alpha is None:
            raise FormatError(f"{header.mode} file has no alpha plane")
        alpha = imageio.decode_alpha(container.alpha, header.width, header.height)
    icc_profile = imageio.inflate(container.icc_profile, "ICC profile", imageio.MAX_ICC_BYTES) if container.icc_profile else None
    return imageio.to_pil(rgb, header.mode, alpha, icc_profile, container.exif)


def _open(data: bytes, backend: str) -> tuple[bitstream.Container, FrozenHyperprior]:
    """Parse a container and load the codec it names, checking everything before decoding."""
    container = bitstream.read_container(data)
    header = container.header
    if header.mode not in imageio.MODES:
        raise FormatError(f"unsupported image mode {header.mode!r} in header")
    if header.width * header.height > imageio.MAX_PIXELS:
        # No file this version writes is that large; refusing it bounds decoder memory.
        raise FormatError(f"declared image size {header.width}×{header.height} is larger than this aecodec decodes")
    codec = assembly.codec_for(header.model_id, header.weights_sha256_prefix, backend)
    shapes = {s.name: tuple(s.shape) for s in container.streams}
    for name, expected in codec.latent_shapes(header.height, header.width).items():
        if shapes.get(name) != expected:
            raise FormatError(f"{name} stream shape {shapes.get(name)} does not match the image size in the header")
    return container, codec


def _coded(container: bitstream.Container) -> CodedLatents:
    return CodedLatents(container.streams, container.symbol_crc)


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


def bit_map(
    source: str | Path | bytes | Image.Image | np.ndarray, quality: float = DEFAULT_QUALITY, model: str | None = None, backend: str = "auto"
) -> BitMap:
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
        rgb = codec.reconstruct_rgb(symbols, header.quality, header.height, header.width)
        height, width, quality = header.height, header.width, header.quality
    else:
        quality = checked_quality(quality)
        prepared = imageio.prepare(source)
        imageio.check_pixels(prepared.width, prepared.height)
        codec = assembly.load_codec(model or zoo.default_model_id(), backend)
        symbols = codec.quantize(codec.analyze(_pad(prepared.rgb, codec.stride)), quality)
        rgb, height, width = prepared.rgb, prepared.height, prepared.width
    z_bits, y_bits = codec.symbol_bits(symbols)
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
        "format_version": "{:d}.{:d}".format(*header.format_version),
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
    record = TargetRecord.unpack(payload) if payload else None
    if record is None:
        return None
    return {"kind": record.target.kind, "target": record.target.value, "reached": record.reached}
