"""The curve a rate search steers along: a typical or predicted (quality, value) curve, or a line.

Values are compared on a scale where they are nearly linear in quality (log bits for sizes,
dB for PSNR); an image's curve is seldom the typical one, but it is usually that curve
shifted and stretched on this scale, so the search fits the curve to its measurements.
"""

from __future__ import annotations

import bisect
import math

from aecodec.codecs.quality import QUALITY_MAX, QUALITY_MIN

Curve = list[tuple[float, float]]
"""A typical or predicted (quality, value) curve, ascending in quality: where to start and how steep."""
# Typical slopes of the quality scale (log-bpp and dB per quality step): without a curve the
# search steers along a line of this slope.
FIRST_SLOPE = {"bpp": 0.024, "size": 0.024, "psnr": 0.1}


def scale(kind: str, value: float) -> float:
    """The measured value on a scale where it is roughly linear in quality."""
    return math.log(value) if kind in ("bpp", "size") else value


class SteeringCurve:
    """A curve of the kind's scale over quality, for steering: a (quality, value) curve, or a line.

    Piecewise linear through its points, extended along its end segments; points that do
    not rise (a noisy measurement) are dropped so that :meth:`quality` is a function.
    """

    def __init__(self, points: list[tuple[float, float]]) -> None:
        kept = [points[0]]
        for quality, value in points[1:]:
            if quality > kept[-1][0] and value > kept[-1][1]:
                kept.append((quality, value))
        if len(kept) < 2:
            raise ValueError("a steering curve needs two rising points")
        self.qualities = [q for q, _ in kept]
        self.values = [v for _, v in kept]

    @classmethod
    def of(cls, kind: str, curve: Curve | None) -> SteeringCurve:
        """``curve`` on the kind's scale, or without one a line of the kind's typical slope."""
        if curve is None or len(curve) < 2:
            return cls([(QUALITY_MIN, FIRST_SLOPE[kind] * QUALITY_MIN), (QUALITY_MAX, FIRST_SLOPE[kind] * QUALITY_MAX)])
        try:
            return cls([(q, scale(kind, v)) for q, v in curve])
        except ValueError:
            return cls.of(kind, None)

    @staticmethod
    def _interpolate(x: float, xs: list[float], ys: list[float]) -> float:
        index = min(max(bisect.bisect_right(xs, x) - 1, 0), len(xs) - 2)
        x0, x1, y0, y1 = xs[index], xs[index + 1], ys[index], ys[index + 1]
        return y0 + (x - x0) * (y1 - y0) / (x1 - x0)

    def value(self, quality: float) -> float:
        return self._interpolate(quality, self.qualities, self.values)

    def quality(self, value: float) -> float:
        return self._interpolate(value, self.values, self.qualities)
