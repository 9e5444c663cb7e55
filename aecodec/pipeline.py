"""The only module that wires image I/O → codec → container and back.

::

    compress:   source ─imageio.prepare─► RGB uint8 (+alpha, mode, ICC, EXIF)
                       ─pad to ×16 (edge)─► codec.compress ─► streams + symbol CRC
                       ─bitstream.write_container─► bytes
    decompress: bytes ─bitstream.read_container─► zoo.codec_for(model id, sha prefix)
                      ─codec.decompress─► crop ─imageio.to_pil─► PIL image
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from aecodec import bitstream, imageio, zoo
from aecodec.codecs.frozen import QUALITY_MAX, QUALITY_MIN, CodedLatents
from aecodec.errors import FormatError, InputError
from aecodec.metrics import bpp

# Images are coded whole for now; above this size the transforms' activations would need
# several GiB. Tiled coding for larger photos is tracked separately.
MAX_UNTILED_PIXELS = 16_000_000


def _check_quality(quality: float) -> float:
    try:
        quality = float(quality)
    except (TypeError, ValueError) as exc:
        raise InputError(f"quality must be a number from {QUALITY_MIN:g} to {QUALITY_MAX:g}") from exc
    if not QUALITY_MIN <= quality <= QUALITY_MAX:
        raise InputError(f"quality must be from {QUALITY_MIN:g} to {QUALITY_MAX:g}, got {quality:g}")
    # The container stores hundredths; code with exactly the value the decoder will read.
    return round(quality * 100) / 100


def _pad(rgb: np.ndarray, multiple: int) -> np.ndarray:
    """(H, W, 3) uint8 → (3, H', W') float32 in [0, 1], edge-padded to ``multiple``."""
    height, width = rgb.shape[:2]
    padded = np.pad(rgb, ((0, -height % multiple), (0, -width % multiple), (0, 0)), mode="edge")
    return padded.transpose(2, 0, 1).astype(np.float32) / 255.0


def compress(
    image: str | Path | Image.Image | np.ndarray,
    quality: float = 75.0,
    model: str | None = None,
    backend: str = "torch",
) -> bytes:
    """Compress an image to the bytes of an .aec file.

    Args:
        image: Path, PIL image, or uint8 array (H, W), (H, W, 3) or (H, W, 4).
        quality: 1 (smallest) to 100 (best); continuous, stored to 1/100.
        model: Model id (default: the manifest's default model).
        backend: Inference backend for the float transforms.
    """
    quality = _check_quality(quality)
    prepared = imageio.prepare(image)
    if prepared.width * prepared.height > MAX_UNTILED_PIXELS:
        raise InputError(
            f"image is {prepared.width}×{prepared.height}; images above {MAX_UNTILED_PIXELS // 1_000_000} megapixels are not supported yet"
        )
    model_id = model or zoo.default_model_id()
    codec = zoo.load_codec(model_id, backend)
    coded = codec.compress(_pad(prepared.rgb, codec.stride), quality)
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
    )
    return bitstream.write_container(container)


def decompress(data: bytes, backend: str = "torch") -> Image.Image:
    """Decode the bytes of an .aec file to a PIL image in the original mode."""
    container = bitstream.read_container(data)
    header = container.header
    if header.mode not in ("RGB", "L", "RGBA", "LA"):
        raise FormatError(f"unsupported image mode {header.mode!r} in header")
    if header.width * header.height > MAX_UNTILED_PIXELS:
        # No file this version writes is that large; refusing it bounds decoder memory.
        raise FormatError(f"declared image size {header.width}×{header.height} is larger than this aecodec decodes")
    codec = zoo.codec_for(header.model_id, header.weights_sha256_prefix, backend)
    shapes = {s.name: tuple(s.shape) for s in container.streams}
    for name, expected in codec.latent_shapes(header.height, header.width).items():
        if shapes.get(name) != expected:
            raise FormatError(f"{name} stream shape {shapes.get(name)} does not match the image size in the header")
    coded = CodedLatents({s.name: (s.shape, s.payload) for s in container.streams}, container.symbol_crc)
    pixels = codec.decompress(coded, header.quality)
    rgb = np.round(pixels[:, : header.height, : header.width] * 255).astype(np.uint8).transpose(1, 2, 0)
    alpha = None
    if header.mode in ("RGBA", "LA"):
        if container.alpha is None:
            raise FormatError(f"{header.mode} file has no alpha plane")
        alpha = imageio.decode_alpha(container.alpha, header.width, header.height)
    icc_profile = imageio.inflate(container.icc_profile, "ICC profile", imageio.MAX_ICC_BYTES) if container.icc_profile else None
    return imageio.to_pil(np.ascontiguousarray(rgb), header.mode, alpha, icc_profile, container.exif)


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
        "chunks": [{"type": c.type, "offset": c.offset, "length": c.length} for c in container.chunks],
    }
