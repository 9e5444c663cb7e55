"""Color arithmetic of the colorize head: luma/chroma, chroma bins, exact-luminance RGB.

The head classifies each half-resolution pixel's chroma (Cb, Cr) into a grid of bins
(Zhang, Isola, Efros 2016: regression to the mean chroma gives sepia; a distribution over
colors keeps them vivid) and the *annealed mean* of the distribution (temperature < 1
sharpens it towards its mode) is the predicted chroma. The result is composed with the
input's own luminance so that converting it back to gray gives the input exactly.
"""

from __future__ import annotations

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114])
_CB = np.array([-0.168736, -0.331264, 0.5])
_CR = np.array([0.5, -0.418688, -0.081312])
_FROM_CHROMA = np.array([[0.0, 1.402], [-0.344136, -0.714136], [1.772, 0.0]])
"""RGB offsets per unit of (Cb, Cr): JPEG's full-range YCbCr."""

_PILLOW_L = np.array([19595, 38470, 7471], dtype=np.int64)
"""Pillow's integer RGB→L weights (they sum to 2¹⁶), the luminance users see in mode L."""


def luminance_u8(rgb: np.ndarray) -> np.ndarray:
    """Pillow's ``convert("L")`` of an (…, 3) uint8 array, bit for bit."""
    return ((rgb.astype(np.int64) @ _PILLOW_L + 0x8000) >> 16).astype(np.uint8)


def chroma(rgb: np.ndarray) -> np.ndarray:
    """(Cb, Cr) of an (…, 3) RGB array in [0, 1], as (…, 2)."""
    return np.stack([rgb @ _CB, rgb @ _CR], axis=-1)


def bin_centres(bins: int, extent: float) -> np.ndarray:
    """Centers of ``bins`` equal bins covering [−extent, extent] on one chroma axis."""
    width = 2 * extent / bins
    return -extent + width * (np.arange(bins) + 0.5)


def annealed_mean(logits: np.ndarray, bins: int, extent: float, temperature: float) -> np.ndarray:
    """Expected chroma under the sharpened bin distribution.

    Args:
        logits: (bins², H, W) scores; bin ``i·bins + j`` is (Cb center i, Cr center j).
        temperature: Softmax temperature; below 1 moves the estimate from the mean
            (desaturated) towards the mode (vivid).

    Returns:
        (H, W, 2) chroma.
    """
    scaled = logits.astype(np.float64) / temperature
    scaled -= scaled.max(axis=0, keepdims=True)
    p = np.exp(scaled).reshape(bins, bins, *logits.shape[1:])
    p /= p.sum(axis=(0, 1), keepdims=True)
    centers = bin_centres(bins, extent)
    cb = np.einsum("ijhw,i->hw", p, centers)
    cr = np.einsum("ijhw,j->hw", p, centers)
    return np.stack([cb, cr], axis=-1)


def compose(gray: np.ndarray, chroma_full: np.ndarray) -> np.ndarray:
    """RGB whose Pillow luminance equals ``gray`` exactly, with chroma as close as the gamut allows.

    Chroma is scaled down per pixel until the color fits in [0, 1] at that luma; after
    rounding, any ±1 error in luminance is removed by shifting all three channels together
    (the integer weights sum to 2¹⁶, so that moves luminance by exactly the shift).

    Args:
        gray: (H, W) uint8 luminance.
        chroma_full: (H, W, 2) chroma at full resolution.

    Returns:
        (H, W, 3) uint8 RGB.
    """
    y = gray.astype(np.float64)[..., None] / 255
    offsets = chroma_full @ _FROM_CHROMA.T
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where(offsets > 0, (1 - y) / offsets, np.where(offsets < 0, -y / offsets, np.inf))
    scale = np.clip(room.min(axis=-1, keepdims=True), 0, 1)
    rgb = np.clip(np.rint((y + scale * offsets) * 255), 0, 255).astype(np.int64)
    for _ in range(4):
        error = gray.astype(np.int64) - luminance_u8(rgb).astype(np.int64)
        if not error.any():
            break
        rgb = np.clip(rgb + error[..., None], 0, 255)
    return rgb.astype(np.uint8)


def upsample(chroma_half: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of an (h, w, 2) chroma map to (height, width, 2) (Pillow, pixel-center aligned)."""
    from PIL import Image

    planes = [
        np.asarray(Image.fromarray(np.ascontiguousarray(chroma_half[..., c], dtype=np.float32), mode="F").resize((width, height), Image.BILINEAR))
        for c in range(2)
    ]
    return np.stack(planes, axis=-1).astype(np.float64)


def colorize(gray: np.ndarray, logits: np.ndarray, bins: int, extent: float, temperature: float) -> np.ndarray:
    """The color image for ``gray`` from the head's half-resolution chroma logits.

    Args:
        gray: (H, W) uint8 luminance.
        logits: (bins², ⌈H/2⌉ or more, ⌈W/2⌉ or more) head output; extra rows and columns
            (from padding) are cropped.

    Returns:
        (H, W, 3) uint8 RGB whose luminance is ``gray`` exactly.
    """
    height, width = gray.shape
    half = annealed_mean(logits[:, : (height + 1) // 2, : (width + 1) // 2], bins, extent, temperature)
    full = upsample(half, 2 * half.shape[0], 2 * half.shape[1])[:height, :width]
    return compose(gray, full)
