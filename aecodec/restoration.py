"""Wires image I/O → a restoration head → image: ``aecodec restore`` and ``aecodec colorize``.

::

    restore:  source ─imageio.prepare─► RGB (+alpha, mode, ICC, EXIF)
                     ─σ given or estimated─► tiles of the padded image ─head─► RGB ─► PIL
    colorize: source ─► luminance (Pillow's L) ─► tiles ─head─► chroma logits at 1/2
                     ─annealed mean, bilinear ×2─► RGB with exactly the input luminance

Tiles are 512 pixels with 64-pixel margins, both multiples of 16 so every tile sees the
backbone's stride grid where the whole image would: a 50-megapixel photo needs the memory of
one tile's activations beside its 8-bit pixels, and the result matches an untiled run up to
float rounding (tests check that the error along tile borders is no larger than elsewhere).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from aecodec import imageio
from aecodec.assembly import LoadedHead, load_head
from aecodec.codecs.tiling import spans
from aecodec.errors import InputError
from aecodec.heads import chroma
from aecodec.heads.config import NOISE_SCALE, SIGMA_MAX
from aecodec.heads.noise import estimate_sigma
from aecodec.transforms.geometry import STRIDE

TASKS = ("auto", "denoise", "colorize")
TILE = 512
MARGIN = 64
_ESTIMATION_WINDOW = 2048


def run_tiled(
    network: Callable[[np.ndarray, float | None], np.ndarray],
    image: np.ndarray,
    noise_level: float | None,
    finish: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
    """Run ``network`` over overlapping tiles of an image and assemble the finished tiles.

    Args:
        network: A head's network: (3, h, w) float32 in [0, 1] → raw output.
        image: (H, W, 3) uint8, or float on the 0–255 scale; converted one tile at a time.
        noise_level: Passed to every call.
        finish: (raw output, the tile's (h, w, 3) input) → the tile's (h, w, 3) uint8
            result. Everything per pixel happens here, one tile at a time, so no full-size
            float array ever exists (a 50-megapixel image stays within a few hundred MB).

    Returns:
        (H, W, 3) uint8.
    """
    height, width = image.shape[:2]
    padded = imageio.pad_edges(image, STRIDE)
    out = np.empty((height, width, 3), dtype=np.uint8)
    for rows in spans(padded.shape[0], TILE, MARGIN):
        for cols in spans(padded.shape[1], TILE, MARGIN):
            keep_rows = slice(rows.keep_start, min(rows.keep_end, height))
            keep_cols = slice(cols.keep_start, min(cols.keep_end, width))
            if keep_rows.start >= keep_rows.stop or keep_cols.start >= keep_cols.stop:
                continue  # a tile of padding only
            tile = padded[rows.read_start : rows.read_end, cols.read_start : cols.read_end]
            result = finish(network(tile.astype(np.float32).transpose(2, 0, 1) / 255, noise_level), tile)
            local_rows = slice(keep_rows.start - rows.read_start, keep_rows.stop - rows.read_start)
            local_cols = slice(keep_cols.start - cols.read_start, keep_cols.stop - cols.read_start)
            out[keep_rows, keep_cols] = result[local_rows, local_cols]
    return out


def _estimated_sigma(image: np.ndarray) -> float:
    """Blind σ from a central window (bounded memory for any image size)."""
    height, width = image.shape[:2]
    top, left = max(0, (height - _ESTIMATION_WINDOW) // 2), max(0, (width - _ESTIMATION_WINDOW) // 2)
    return estimate_sigma(image[top : top + _ESTIMATION_WINDOW, left : left + _ESTIMATION_WINDOW])


def _to_u8(restored: np.ndarray, tile: np.ndarray) -> np.ndarray:
    """A denoise tile's (3, h, w) output in [0, 1] → (h, w, 3) uint8, clipped and rounded."""
    return imageio.to_u8(restored.transpose(1, 2, 0) * 255)


def denoise_array(image: np.ndarray, head: LoadedHead, sigma: float | None = None) -> tuple[np.ndarray, float]:
    """Denoise and deblock an (H, W, 3) image (uint8, or float on the 0–255 scale, unclipped).

    Args:
        sigma: Noise standard deviation on the 0–255 scale; None estimates it.

    Returns:
        The restored (H, W, 3) uint8 image and the σ used.
    """
    imageio.check_pixels(image.shape[1], image.shape[0], "restores at most")
    if sigma is None:
        sigma = _estimated_sigma(image)
    elif not 0 <= sigma <= SIGMA_MAX:
        raise InputError(f"sigma must be from 0 to {SIGMA_MAX:g} (the 0–255 scale; the head is trained up to {SIGMA_MAX:g})")
    return run_tiled(head.network, image, sigma / NOISE_SCALE, _to_u8), float(sigma)


def colorize_array(luminance: np.ndarray, head: LoadedHead) -> np.ndarray:
    """Color (H, W, 3) uint8 for an (H, W) uint8 luminance; its luminance is the input, exactly."""
    imageio.check_pixels(luminance.shape[1], luminance.shape[0], "restores at most")
    config = head.config

    def color_tile(logits: np.ndarray, tile: np.ndarray) -> np.ndarray:
        return chroma.colorize(tile[..., 0], logits, config.chroma_bins, config.chroma_range, head.temperature)

    return run_tiled(head.network, np.repeat(luminance[..., None], 3, axis=-1), None, color_tile)


def _is_gray(prepared: imageio.PreparedImage) -> bool:
    rgb = prepared.rgb
    return prepared.mode in ("L", "LA") or bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())


def resolve_task(task: str, gray: bool) -> str:
    """``auto`` colorizes gray images and denoises color ones."""
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    if task == "auto":
        return "colorize" if gray else "denoise"
    return task


def restore(
    source: str | Path | Image.Image | np.ndarray, task: str = "auto", sigma: float | None = None, backend: str = "auto"
) -> tuple[Image.Image, dict]:
    """Restore an image; returns the PIL result and a report (task, σ, backend, head).

    A float array is taken as (H, W, 3) on the 0–255 scale without clipping, the
    denoising benchmark's protocol; anything else goes through :func:`imageio.prepare`
    (every Pillow mode, EXIF orientation; alpha, ICC and EXIF are carried to the output).
    Colorizing a color image uses its luminance, and the report says so.
    """
    if isinstance(source, np.ndarray) and np.issubdtype(source.dtype, np.floating):
        if source.ndim != 3 or source.shape[2] != 3 or min(source.shape[:2]) < 1:
            raise InputError(f"a float image must be (H, W, 3), got {source.shape}")
        if not np.isfinite(source).all():
            raise InputError("the float image has NaN or infinite values")
        prepared = imageio.PreparedImage(source, None, "RGB")
    else:
        prepared = imageio.prepare(source)
    gray = _is_gray(prepared)
    task = resolve_task(task, gray)
    head = load_head(task, backend)
    report = {"task": task, "head": head.head_id, "backend": head.backend}
    if task == "denoise":
        rgb, report["sigma"] = denoise_array(prepared.rgb, head, sigma)
        return imageio.to_pil(rgb, prepared.mode, prepared.alpha, prepared.icc_profile, prepared.exif), report
    if not gray:
        report["note"] = "color input: its luminance was colorized"
    rgb_u8 = prepared.rgb if prepared.rgb.dtype == np.uint8 else imageio.to_u8(prepared.rgb)
    luminance = chroma.luminance_u8(rgb_u8)
    rgb = colorize_array(luminance, head)
    mode = "RGBA" if prepared.alpha is not None else "RGB"
    # A gray input's ICC profile describes a gray color space, so it cannot travel along.
    return imageio.to_pil(rgb, mode, prepared.alpha, None, prepared.exif), report
