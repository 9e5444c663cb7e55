"""Render a per-pixel value map over an image, with a labeled color bar (Pillow only).

Used for bit-allocation maps (``aecodec inspect --map``); kept free of matplotlib so the
base install can draw them. The color scale is a perceptually ordered dark-to-bright ramp
(anchor colors of matplotlib's "inferno"), linear in the value and clipped at a high
percentile so that a few extreme blocks do not wash out the rest.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Anchor colors of the "inferno" colormap at 0, 1/6, ..., 1 (linearly interpolated).
_INFERNO = np.array(
    [[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66], [245, 125, 21], [250, 193, 39], [252, 255, 164]],
    dtype=np.float64,
)
CLIP_PERCENTILE = 99.5
IMAGE_WEIGHT = 0.35  # how much of the (gray) image shows through the colors
BAR_WIDTH = 18
BAR_MARGIN = 8
LABEL_WIDTH = 72


def colorize(values: np.ndarray, top: float) -> np.ndarray:
    """Map values in [0, top] to (…, 3) uint8 colors of the ramp."""
    position = np.clip(values / top if top > 0 else np.zeros_like(values), 0, 1) * (len(_INFERNO) - 1)
    lower = np.minimum(position.astype(int), len(_INFERNO) - 2)
    fraction = (position - lower)[..., None]
    return np.round(_INFERNO[lower] * (1 - fraction) + _INFERNO[lower + 1] * fraction).astype(np.uint8)


def overlay(rgb: np.ndarray, values: np.ndarray, unit: str) -> Image.Image:
    """The image in gray under the color-coded ``values``, with a color bar on the right.

    Args:
        rgb: (H, W, 3) uint8 image.
        values: (H, W) non-negative values (e.g. bits per pixel).
        unit: Label of the color bar (e.g. ``"bits/pixel"``).
    """
    height, width = values.shape
    top = float(np.percentile(values, CLIP_PERCENTILE)) or float(values.max()) or 1.0
    gray = np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float64)[..., None]
    blended = IMAGE_WEIGHT * gray + (1 - IMAGE_WEIGHT) * colorize(values, top)
    canvas = Image.new("RGB", (width + BAR_MARGIN * 2 + BAR_WIDTH + LABEL_WIDTH, max(height, 120)), "white")
    canvas.paste(Image.fromarray(np.round(blended).astype(np.uint8)), (0, 0))
    bar_height = max(height, 120) - 2 * BAR_MARGIN
    ramp = colorize(np.linspace(top, 0, bar_height)[:, None].repeat(BAR_WIDTH, axis=1), top)
    left = width + BAR_MARGIN
    canvas.paste(Image.fromarray(ramp), (left, BAR_MARGIN))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    for fraction in (0.0, 0.5, 1.0):
        y = BAR_MARGIN + round((1 - fraction) * (bar_height - 1))
        draw.line([(left + BAR_WIDTH, y), (left + BAR_WIDTH + 3, y)], fill="black")
        label = f"{fraction * top:.2f}" + ("+" if fraction == 1.0 else "")
        draw.text((left + BAR_WIDTH + 5, min(max(y - 6, 0), canvas.height - 12)), label, fill="black", font=font)
    draw.text((left + BAR_WIDTH + 5, canvas.height // 2 + 8), unit, fill="black", font=font)
    return canvas
