"""Images in and out: Pillow images, files and numpy arrays ↔ what the codec codes.

The codec codes 8-bit RGB. Everything else a user may hand over is mapped onto that, and
the original mode is recorded so decompress gives back the same kind of image:

==========================  ==============================================================
input                       coded as
==========================  ==============================================================
RGB                         RGB
L, 1                        gray replicated to RGB; decoded back to L
RGBA, LA, PA, P with alpha  color as above + alpha plane stored losslessly (zlib)
P                           palette expanded to RGB
CMYK, YCbCr, LAB, HSV       converted to RGB (warning: the color space changes)
I;16*, I, F                 scaled to 8-bit L (warning: precision is lost)
==========================  ==============================================================

EXIF orientation is applied before coding (the pixels are stored upright), and the ICC
profile and EXIF block are carried through to the decoded image.
"""

from __future__ import annotations

import io
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from aecodec.errors import AecodecWarning, FormatError, InputError
from aecodec.files import read_input

MODES = ("RGB", "L", "RGBA", "LA")  # the modes a container records and decompress restores
ALPHA_MODES = ("RGBA", "LA")  # the recorded modes that carry an alpha plane
GRAY_MODES = ("L", "LA")  # the recorded modes decoded back to gray
_CONVERTED_TO_RGB = {"CMYK", "YCbCr", "LAB", "HSV"}
_HIGH_DEPTH = {"I", "F"}

# The transforms run in tiles (aecodec.codecs.tiling), but the latents and their entropy
# parameters grow with the image; larger images are refused before any allocation rather than
# risking the machine's memory (benchmarks/results/memory.json measures every command's peak).
MAX_PIXELS = 64_000_000


def check_pixels(width: int, height: int, action: str = "codes images of up to") -> None:
    """Refuse an image of more than :data:`MAX_PIXELS` pixels with a one-line InputError.

    Args:
        width: Image width in pixels.
        height: Image height in pixels.
        action: What aecodec does to the image, as the error message words it.
    """
    if width * height > MAX_PIXELS:
        raise InputError(f"image is {width}×{height}; aecodec {action} {MAX_PIXELS // 1_000_000} megapixels")


@dataclass(frozen=True)
class PreparedImage:
    """An image ready for the codec.

    Attributes:
        rgb: (H, W, 3) uint8 pixels the codec codes.
        alpha: (H, W) uint8 alpha plane, coded losslessly, or None.
        mode: Pillow mode restored on decode: "RGB", "L", "RGBA" or "LA".
        icc_profile: ICC profile bytes to carry through, or None.
        exif: EXIF bytes (orientation already applied and reset), or None.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    mode: str
    icc_profile: bytes | None = None
    exif: bytes | None = None

    @property
    def width(self) -> int:
        return self.rgb.shape[1]

    @property
    def height(self) -> int:
        return self.rgb.shape[0]


def open_image(path: str | Path) -> Image.Image:
    """Open and fully load an image file; any failure becomes a one-line InputError."""
    data = read_input(Path(path))
    try:
        with Image.open(io.BytesIO(data)) as image:
            frames = getattr(image, "n_frames", 1)
            image.load()
            if frames > 1:
                warnings.warn(f"{path} has {frames} frames; aecodec codes the first", AecodecWarning, stacklevel=3)
            return image
    except UnidentifiedImageError as exc:
        raise InputError(f"not an image Pillow can read: {path}") from exc
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise InputError(f"cannot read image {path}: {exc}") from exc


def pad_edges(rgb: np.ndarray, multiple: int) -> np.ndarray:
    """(H, W, C) → (H', W', C), H' and W' the next multiples of ``multiple``, by repeating the last row and column.

    The one padding rule of the codec and the heads: networks need sizes divisible by their
    stride, and repeating edges (rather than zeros) keeps the padding cheap to code and free
    of artificial edges. The dtype is kept, so a large uint8 image never exists in float.
    """
    height, width = rgb.shape[:2]
    return np.pad(rgb, ((0, -height % multiple), (0, -width % multiple), (0, 0)), mode="edge")


def to_u8(image: np.ndarray) -> np.ndarray:
    """Clip and round a float image on the 0–255 scale to 8 bits, as saving it would."""
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _from_array(array: np.ndarray) -> Image.Image:
    if array.dtype != np.uint8:
        raise InputError(f"numpy images must be uint8, got {array.dtype}")
    if array.ndim == 2:
        return Image.fromarray(array, "L")
    if array.ndim == 3 and array.shape[2] in (1, 3, 4):
        if array.shape[2] == 1:
            return Image.fromarray(array[:, :, 0], "L")
        return Image.fromarray(np.ascontiguousarray(array), "RGB" if array.shape[2] == 3 else "RGBA")
    raise InputError(f"numpy images must be (H, W), (H, W, 3) or (H, W, 4), got shape {array.shape}")


def _to_eight_bit(image: Image.Image) -> Image.Image:
    """Map 16/32-bit integer and float gray images to 8-bit L by their nominal range."""
    array = np.asarray(image)
    if image.mode == "F":
        scaled = np.clip(array, 0.0, 1.0) * 255.0 if array.max(initial=0) <= 1.0 else np.clip(array, 0, 255)
    else:
        scaled = np.clip(array.astype(np.float64), 0, 65535) / 257.0
    warnings.warn(f"{image.mode} image converted to 8-bit gray: aecodec codes 8 bits per channel", AecodecWarning, stacklevel=3)
    return Image.fromarray(np.round(scaled).astype(np.uint8), "L")


def _normalise_mode(image: Image.Image) -> tuple[Image.Image, str]:
    """Return an image in RGB, RGBA, L or LA and the mode to restore on decode."""
    mode = image.mode
    if mode == "P" or mode == "PA":
        has_alpha = mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    elif mode == "1":
        image = image.convert("L")
    elif mode in _CONVERTED_TO_RGB:
        warnings.warn(f"{mode} image converted to RGB", AecodecWarning, stacklevel=3)
        image = image.convert("RGB")
    elif mode.startswith("I;16") or mode in _HIGH_DEPTH:
        image = _to_eight_bit(image)
    elif mode == "La":
        image = image.convert("LA")
    elif mode == "RGBa":
        image = image.convert("RGBA")
    elif mode not in MODES:
        raise InputError(f"unsupported image mode {mode!r}; convert it to RGB or L first")
    return image, image.mode


def prepare(source: str | Path | Image.Image | np.ndarray) -> PreparedImage:
    """Turn a path, Pillow image or uint8 array into a :class:`PreparedImage`."""
    if isinstance(source, (str, Path)):
        image = open_image(source)
    elif isinstance(source, Image.Image):
        image = source
    elif isinstance(source, np.ndarray):
        image = _from_array(source)
    else:
        raise InputError(f"cannot compress a {type(source).__name__}; pass a path, PIL image or uint8 array")
    icc_profile = image.info.get("icc_profile") or None
    try:
        image = ImageOps.exif_transpose(image)
        exif = image.getexif()
        exif_bytes = exif.tobytes() if len(exif) else None
    except (OSError, ValueError, SyntaxError, KeyError, TypeError):
        warnings.warn("unreadable EXIF metadata dropped", AecodecWarning, stacklevel=2)
        exif_bytes = None
    if image.width < 1 or image.height < 1:
        raise InputError("image has no pixels")
    image, mode = _normalise_mode(image)
    alpha = np.asarray(image.getchannel("A")) if mode in ALPHA_MODES else None
    rgb = np.asarray(image.convert("RGB"))
    return PreparedImage(rgb, alpha, mode, icc_profile, exif_bytes)


def to_pil(rgb: np.ndarray, prepared_mode: str, alpha: np.ndarray | None = None,
           icc_profile: bytes | None = None, exif: bytes | None = None) -> Image.Image:
    """Rebuild the user's image from decoded RGB pixels, the recorded mode and metadata."""
    image = Image.fromarray(rgb, "RGB")
    if prepared_mode in GRAY_MODES:
        image = image.convert("L")
    if alpha is not None:
        image.putalpha(Image.fromarray(alpha, "L"))
    if icc_profile:
        image.info["icc_profile"] = icc_profile
    if exif:
        image.info["exif"] = exif
    return image


def decoded_as_rgb(rgb: np.ndarray, mode: str) -> np.ndarray:
    """The RGB pixels of what decoding returns for decoded ``rgb`` in the recorded ``mode``
    (gray modes are made gray, as :func:`to_pil` makes them)."""
    if mode in GRAY_MODES:
        return np.asarray(to_pil(rgb, mode).convert("RGB"))
    return rgb


MAX_ICC_BYTES = 1 << 24


def deflate(data: bytes) -> bytes:
    """Lossless payload for the alpha plane and the ICC profile (zlib, as PNG does)."""
    return zlib.compress(data, 9)


def inflate(payload: bytes, what: str, limit: int) -> bytes:
    """Inverse of :func:`deflate`, refusing to produce more than ``limit`` bytes."""
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(payload, limit + 1)
    except zlib.error as exc:
        raise FormatError(f"{what} is not valid deflate data: {exc}") from exc
    if len(raw) > limit or inflater.unconsumed_tail:
        raise FormatError(f"{what} is larger than it may be")
    if not inflater.eof:
        # All input was used and the output is within the limit, yet the stream never ended.
        raise FormatError(f"{what} is truncated (incomplete deflate data)")
    return raw


def encode_alpha(alpha: np.ndarray) -> bytes:
    """Lossless alpha payload: the raw 8-bit plane, deflated."""
    return deflate(np.ascontiguousarray(alpha, dtype=np.uint8).tobytes())


def decode_alpha(payload: bytes, width: int, height: int) -> np.ndarray:
    """Inverse of :func:`encode_alpha`; refuses payloads that inflate to the wrong size."""
    raw = inflate(payload, "alpha plane", width * height)
    if len(raw) != width * height:
        raise FormatError("alpha plane does not match the image size")
    return np.frombuffer(raw, dtype=np.uint8).reshape(height, width)
