"""Rate control: find the quality that meets a bits-per-pixel, file-size or PSNR target.

Quality is continuous (hundredths) and file size and PSNR grow monotonically with it, so
the search is a safeguarded root finder on a bracket of qualities. Values are compared on a
scale where they are nearly linear in quality (log bits for sizes, dB for PSNR), and steps
follow a steering curve — the model's typical curve for the kind (its validation results),
a curve the caller predicted for this image (:func:`aecodec.pipeline.compress` does), or
a straight line without one — shifted onto the first measurement and then mapped
affinely onto two (the bracket, once one exists): an image's curve is seldom the typical
one, but it is usually that curve shifted and stretched, so the fit takes fewer trials
than a straight secant where the PSNR curve bends. A step that would leave the bracket is
replaced by bisection. Measuring a quality is the caller's business
(:func:`aecodec.pipeline.compress` reuses one analysis transform for every trial), so this
module knows nothing of images and is tested on plain functions.

A caller that can also *estimate* the image's value at any quality from its latest exact
trial, for less than a trial costs, passes an :data:`Estimate` factory, and steps then
follow this image's own curve instead of the steering curve: the estimate, exact at the
trial it was made from, is solved for the goal (secant steps, the first along the steering curve)
and the next exact trial goes there, landing within the estimate's error. For bpp and size
targets the estimate is the bits of the latent re-rounded against the trial's rescaled entropy
parameters (:meth:`FrozenHyperprior.estimated_bits`, ~1/15 of a trial; under 2 % off for
nearby qualities, a few percent for far ones), so a solve may take several; for PSNR it is
the decoded image of those re-rounded symbols (:meth:`FrozenHyperprior.estimated_quantization`:
a synthesis without the hyper-decoder and context model, half a trial; within 0.05 dB up
to 6 quality steps away), so a solve takes few and stops closer to the goal than the
accepted band's half-width. Far below its trial the PSNR estimate runs high (up to 0.2 dB
a dozen steps down on validation photos, 2.7 dB fifty steps down on a very smooth one),
so a search whose first trial is far above its goal takes a third exact trial or more
(scaling estimated drops up by 5 or 8 % to undo that took more trials, 2.35 and 2.45 exact
trials per search on the validation photos against 2.25: the bias varies from 3 to 16 %
between photos); the bits estimate likewise overstates how much the bits change over a
dozen steps or more. The curves the pipeline predicts for each image from its latent
(:mod:`aecodec.latent_priors`, a few percent of a compress) put most first trials near
enough for the estimates to be accurate.

Acceptance, per target kind:

* ``bpp``: within ±:data:`BPP_TOLERANCE` of the target (the file's bits over its pixels);
  the search stops as soon as it is within ±:data:`BPP_AIM`.
* ``size``: never above the target and within :data:`SIZE_TOLERANCE` below it — or the
  highest quality that fits, when quality 100 is smaller than the target.
* ``psnr``: at least the target, with the least bits: a quality whose PSNR is within
  :data:`PSNR_TOLERANCE` above the target; or, once trials on both sides of the target lie
  within :data:`PSNR_SETTLE_QUALITIES` of each other, the one above if it is within
  :data:`PSNR_SETTLE_TOLERANCE`; or else the lowest quality (to :data:`PSNR_QUALITY_STEP`)
  whose PSNR reaches it.

A target outside what qualities 1–100 can give raises :class:`InputError` naming the
reachable range, rather than silently returning something else.
"""

from __future__ import annotations

import bisect
import math
import re
import struct
from dataclasses import dataclass, field
from typing import Callable

from aecodec.codecs.frozen import QUALITY_MAX, QUALITY_MIN
from aecodec.errors import InputError

BPP_AIM = 0.025  # stop searching this close to a bpp target ...
BPP_TOLERANCE = 0.03  # ... inside the promised ±3 % (a file's flush bytes add well under 0.5 %)
SIZE_TOLERANCE = 0.025
PSNR_TOLERANCE = 0.05  # dB above a PSNR target that is accepted (about 1 % more bits)
PSNR_QUALITY_STEP = 0.1
# A bracket this narrow around a PSNR target is settled by its upper trial when that is at
# most PSNR_SETTLE_TOLERANCE over the target: one more trial (about a plain compress) would
# save under 1 % of the bits. On the 24 validation photos, targets 28-34 dB, the three
# searches that took 4 or 5 exact trials stop at 3 (2.25 → 2.19 trials per search).
PSNR_SETTLE_QUALITIES = 1.0
PSNR_SETTLE_TOLERANCE = 2 * PSNR_TOLERANCE
QUALITY_RESOLUTION = 0.01  # qualities are stored in hundredths
MAX_TRIALS = 16
FIRST_QUALITY = 50.0
# Typical slopes of the quality scale (log-bpp and dB per quality step): without a prior
# curve the search steers along a line of this slope.
FIRST_SLOPE = {"bpp": 0.024, "size": 0.024, "psnr": 0.1}
# How much steeper or flatter than the steering curve an image may be measured to run
# before the fit is distrusted (noise, or two trials on a flat stretch).
MIN_STEER_GAIN, MAX_STEER_GAIN = 0.25, 4.0
# Solving an estimate for the goal stops this close to it, on the kind's scale, or after so
# many estimates: 0.4 % of the bits from estimates that cost ~1/15 of a trial, or 0.02 dB
# (inside the PSNR band's half-width) from estimates that cost a synthesis, half a trial.
# Measured on the 24 validation photos, PSNR targets 28-34 dB (69 reachable searches, starting
# from the image's predicted curve), exact trials and estimates per search: (0.01 dB, 3) 2.29
# and 2.43, (0.015 dB, 2) 2.26 and 2.04, (0.02 dB, 2) 2.25 and 1.96, (0.03 dB, 2) 2.26 and
# 1.90, (0.02 dB, 1) 2.36 and 1.42, (0.025 dB, 1) 2.35 and 1.39. One estimate per solve
# would be about 4 % cheaper on these photos (an exact trial costs about two estimates), but
# an image shaped far unlike the steering curve then takes a third trial where two estimates
# land it in two (tests/test_ratecontrol.py), so two it is.
SOLVE_LIMITS = {"bpp": (0.004, 6), "size": (0.004, 6), "psnr": (0.02, 2)}
Prior = list[tuple[float, float]]
"""A typical or predicted (quality, value) curve, ascending in quality: where to start and how steep."""
Estimate = Callable[[float], float]
"""This image's value of the target's kind at a quality, estimated from one exact trial and exact at its quality."""
KINDS = ("bpp", "size", "psnr")
# The container's tRGT chunk: u8 kind code, u32 target, u32 reached, in these units.
_RECORD = struct.Struct(">BII")
_RECORD_CODES = {"bpp": 1, "size": 2, "psnr": 3}
_RECORD_UNITS = {"bpp": 1e6, "size": 1.0, "psnr": 1e4}
_SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "kib": 1024, "mib": 1024**2}


@dataclass(frozen=True)
class RateTarget:
    """What the user asked for.

    Attributes:
        kind: ``"bpp"``, ``"size"`` (bytes of the whole .aec file) or ``"psnr"`` (dB, RGB).
        value: The target in the kind's unit.
    """

    kind: str
    value: float

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"unknown rate target {self.kind!r}; use one of {', '.join(KINDS)}")
        if not (math.isfinite(self.value) and self.value > 0):
            raise InputError(f"{self.kind} target must be a positive number, got {self.value:g}")

    def describe(self, value: float | None = None) -> str:
        """The target (or a measured ``value``) in the kind's unit, for messages."""
        value = self.value if value is None else value
        return {"bpp": f"{value:.4f} bpp", "size": f"{value:,.0f} bytes", "psnr": f"{value:.2f} dB"}[self.kind]


def pack_record(target: RateTarget, reached: float) -> bytes:
    """The ``tRGT`` chunk payload recording ``target`` and the value reached."""
    unit = _RECORD_UNITS[target.kind]
    return _RECORD.pack(_RECORD_CODES[target.kind], min(round(target.value * unit), 2**32 - 1), min(round(reached * unit), 2**32 - 1))


def unpack_record(payload: bytes) -> tuple[RateTarget, float] | None:
    """Inverse of :func:`pack_record`; ``None`` for a payload this version cannot read.

    The chunk is ancillary (informational), so an unreadable one is ignored, not an error.
    """
    if len(payload) != _RECORD.size:
        return None
    code, target, reached = _RECORD.unpack(payload)
    kind = next((k for k, c in _RECORD_CODES.items() if c == code), None)
    if kind is None or target == 0:
        return None
    unit = _RECORD_UNITS[kind]
    return RateTarget(kind, target / unit), reached / unit


def parse_size(text: str) -> int:
    """Bytes in a size such as ``40000``, ``40KB``, ``40 kB``, ``1.5MB`` or ``64KiB``.

    KB and MB are decimal (1000, 1000²), KiB and MiB binary (1024, 1024²), as in SI/IEC.
    """
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", text)
    if not match or match.group(2).lower() not in _SIZE_UNITS:
        raise InputError(f"cannot read size {text!r}; write e.g. 40000, 40KB, 1.5MB or 64KiB")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


@dataclass(frozen=True)
class Trial:
    """One measured quality."""

    quality: float
    value: float


@dataclass
class SearchResult:
    """The chosen quality and every trial that led to it (in order)."""

    quality: float
    value: float
    trials: list[Trial] = field(default_factory=list)


def _scale(kind: str, value: float) -> float:
    """The measured value on a scale where it is roughly linear in quality."""
    return math.log(value) if kind in ("bpp", "size") else value


def _accepted(target: RateTarget, value: float) -> bool:
    if target.kind == "bpp":
        return abs(value / target.value - 1) <= BPP_AIM
    if target.kind == "size":
        return (1 - SIZE_TOLERANCE) * target.value <= value <= target.value
    return target.value <= value <= target.value + PSNR_TOLERANCE


def _feasible(target: RateTarget, value: float) -> bool:
    """Whether a trial may be returned at all."""
    if target.kind == "size":
        return value <= target.value
    if target.kind == "psnr":
        return value >= target.value
    return abs(value / target.value - 1) <= BPP_TOLERANCE


def _goal(target: RateTarget) -> float:
    """Where steps aim: the middle of the accepted band, on the linearising scale."""
    middle = {
        "bpp": target.value,
        "size": target.value * (1 - SIZE_TOLERANCE / 2),
        "psnr": target.value + PSNR_TOLERANCE / 2,
    }[target.kind]
    return _scale(target.kind, middle)


class _Shape:
    """A curve of the kind's scale over quality, for steering: the model's prior curve, or a line.

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
    def of(cls, kind: str, prior: Prior | None) -> "_Shape":
        """The prior on the kind's scale, or without one a line of the kind's typical slope."""
        if prior is None or len(prior) < 2:
            return cls([(QUALITY_MIN, FIRST_SLOPE[kind] * QUALITY_MIN), (QUALITY_MAX, FIRST_SLOPE[kind] * QUALITY_MAX)])
        try:
            return cls([(q, _scale(kind, v)) for q, v in prior])
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


def _bracket_qualities(below: Trial | None, above: Trial | None) -> tuple[float, float]:
    """The qualities the goal lies between: the measured bracket's ends, or the scale's ends."""
    return (below.quality if below else QUALITY_MIN, above.quality if above else QUALITY_MAX)


def _next_quality(target: RateTarget, shape: _Shape, trials: list[Trial], below: Trial | None, above: Trial | None) -> float:
    """Where the steering curve, fitted to the measurements, meets the goal.

    The curve is mapped affinely (v ↦ a + b·v) onto two measurements — the bracket once
    there is one, else the last two trials — or only shifted onto the single first one, so
    that an image whose values run steeper or flatter than the model's typical curve is
    followed after one more step; the curve's shape carries the curvature a straight secant
    misses. Steps stay strictly inside the bracket (bisection when the fit points outside).
    """
    goal = _goal(target)

    def measured(trial: Trial) -> float:
        return _scale(target.kind, trial.value)

    if below and above:
        first, second = below, above
    else:
        first, second = trials[-2:] if len(trials) > 1 else (trials[0], trials[0])
    run = shape.value(second.quality) - shape.value(first.quality)
    gain = (measured(second) - measured(first)) / run if run else 0.0
    if not MIN_STEER_GAIN <= gain <= MAX_STEER_GAIN:  # one trial, or an implausible fit (noise, a flat stretch)
        gain = 1.0  # shift only, onto the bracket's end nearer the goal
        first = min((t for t in (below, above) if t), key=lambda t: abs(measured(t) - goal))
    offset = measured(first) - gain * shape.value(first.quality)
    guess = shape.quality((goal - offset) / gain)
    low, high = _bracket_qualities(below, above)
    if below and above:
        if not low < guess < high:
            guess = (low + high) / 2
    else:
        guess = min(max(guess, low), high)
    return round(guess, 2)


def first_quality(target: RateTarget, prior: Prior | None = None) -> float:
    """The quality a search tries first: where ``prior`` meets the goal, else a fixed start."""
    if prior is None:
        return FIRST_QUALITY
    return round(min(max(_Shape.of(target.kind, prior).quality(_goal(target)), QUALITY_MIN), QUALITY_MAX), 2)


def search_quality(
    measure: Callable[[float], float], target: RateTarget, prior: Prior | None = None, estimator: Callable[[float], Estimate] | None = None
) -> SearchResult:
    """Find the quality that meets ``target``; ``measure(quality)`` returns the kind's value.

    Args:
        measure: The kind's value of this image at a quality.
        target: What to meet.
        prior: The model's typical curve for this kind (e.g. its validation results), or
            one predicted for the image: the search starts where it meets the target and
            steers along its shape, fitted to the measurements, which saves trials on
            targets far from the middle.
        estimator: Called right after ``measure(quality)`` with that quality, returns the
            image's :data:`Estimate` made from that trial; the search steers on it (and
            drops it before the next measurement, so the caller may free what it holds).

    Raises:
        InputError: The target is outside what quality 1–100 reaches for this image.
    """
    trials: list[Trial] = []
    below: Trial | None = None  # highest quality measured under the goal
    above: Trial | None = None  # lowest quality measured at or over the goal
    shape = _Shape.of(target.kind, prior)
    quality = first_quality(target, prior)
    while len(trials) < MAX_TRIALS and all(t.quality != quality for t in trials):
        trial = Trial(quality, measure(quality))
        trials.append(trial)
        if _accepted(target, trial.value):
            return SearchResult(trial.quality, trial.value, trials)
        if trial.value < target.value:
            below = trial if below is None or trial.quality > below.quality else below
        else:
            above = trial if above is None or trial.quality < above.quality else above
        if (below and below.quality >= QUALITY_MAX) or (above and above.quality <= QUALITY_MIN):
            break  # the goal lies beyond an end of the quality scale
        if _settled(target, below, above):
            break
        if estimator is None:
            quality = _next_quality(target, shape, trials, below, above)
        else:
            quality = _next_quality_on_estimate(target, shape, trial, below, above, estimator(trial.quality))
    return _best(target, trials, below, above)


def _next_quality_on_estimate(target: RateTarget, shape: _Shape, latest: Trial, below: Trial | None, above: Trial | None, estimate: Estimate) -> float:
    """Where this image's estimated value, exact at the ``latest`` trial, meets the goal; inside the bracket."""
    tolerance, steps = SOLVE_LIMITS[target.kind]
    low, high = _bracket_qualities(below, above)
    scaled = lambda quality: _scale(target.kind, estimate(quality))  # noqa: E731
    return round(_solve(scaled, _goal(target), latest.quality, _scale(target.kind, latest.value), shape, low, high, tolerance, steps), 2)


def _solve(
    function: Callable[[float], float], wanted: float, start: float, start_value: float, shape: _Shape, low: float, high: float, tolerance: float, steps: int
) -> float:
    """A quality in [``low``, ``high``] where the rising ``function`` is ``wanted``, known to be
    ``start_value`` at ``start``: the first step follows ``shape`` shifted onto that point,
    the next are secant steps kept inside the interval the evaluations bracket (bisection
    when a step would leave it). Stops within ``tolerance``, after ``steps`` evaluations, or
    when the interval has closed (the goal lies beyond an end of it), returning the last
    step's quality."""
    known = (start, start_value)
    quality = min(max(shape.quality(shape.value(start) + wanted - start_value), low), high)
    for _ in range(steps):
        value = function(quality)
        if abs(value - wanted) <= tolerance:
            break
        if value < wanted:
            low = quality
        else:
            high = quality
        (previous, previous_value), known = known, (quality, value)
        step = (wanted - value) * (quality - previous) / (value - previous_value) if value != previous_value else math.inf
        quality = quality + step if low < quality + step < high else (low + high) / 2
        if high - low < QUALITY_RESOLUTION:
            break
    return quality


def _settled(target: RateTarget, below: Trial | None, above: Trial | None) -> bool:
    """Whether the bracket leaves no trial worth making: it has closed to the kind's
    resolution, or (PSNR) it is narrow and its upper end is near enough the target."""
    if below is None or above is None:
        return False
    width = above.quality - below.quality
    if target.kind != "psnr":
        return width <= QUALITY_RESOLUTION
    return width <= PSNR_QUALITY_STEP or (width <= PSNR_SETTLE_QUALITIES and above.value <= target.value + PSNR_SETTLE_TOLERANCE)


def _best(target: RateTarget, trials: list[Trial], below: Trial | None, above: Trial | None) -> SearchResult:
    """The best feasible trial once the search stops, or an error naming what is reachable."""
    if target.kind == "psnr" and above is not None:
        return SearchResult(above.quality, above.value, trials)
    if target.kind == "size" and below is not None:
        return SearchResult(below.quality, below.value, trials)
    feasible = [t for t in trials if _feasible(target, t.value)]
    if feasible:
        best = min(feasible, key=lambda t: abs(t.value - target.value))
        return SearchResult(best.quality, best.value, trials)
    lowest = min(trials, key=lambda t: t.quality)
    highest = max(trials, key=lambda t: t.quality)
    if lowest.quality <= QUALITY_MIN and target.value < lowest.value:
        raise InputError(f"target {target.describe()} is below what this image reaches at quality 1 ({target.describe(lowest.value)})")
    if highest.quality >= QUALITY_MAX and target.value > highest.value:
        raise InputError(f"target {target.describe()} is above what this image reaches at quality 100 ({target.describe(highest.value)})")
    closest = min(trials, key=lambda t: abs(t.value - target.value))
    raise InputError(f"no quality meets {target.describe()}; the closest was {target.describe(closest.value)} at quality {closest.quality:g}")
