"""Rate control: find the quality that meets a bits-per-pixel, file-size or PSNR target.

Quality is continuous (hundredths) and file size and PSNR grow monotonically with it, so
the search is a safeguarded root finder on a bracket of qualities. Values are compared on a
scale where they are nearly linear in quality (log bits for sizes, dB for PSNR), and steps
follow a steering curve (:mod:`aecodec.ratecontrol.steering`) — the model's typical curve
for the kind (its validation results), a curve predicted for this image
(:mod:`aecodec.ratecontrol.predicted_curves`), or a straight line without one — shifted
onto the first measurement and then mapped affinely onto two (the bracket, once one
exists): an image's curve is seldom the typical one, but it is usually that curve shifted
and stretched, so the fit takes fewer trials than a straight secant where the PSNR curve
bends. A step that would leave the bracket is replaced by bisection. Measuring a quality is
the caller's business (:class:`aecodec.ratecontrol.trials.TrialRunner` reuses one analysis
transform for every trial), so this module knows nothing of images and is tested on plain
functions.

A caller that can also *estimate* the image's value at any quality from its latest exact
trial, for less than a trial costs, passes an :data:`Estimate` factory, and steps then
follow this image's own curve instead of the steering curve: the estimate, exact at the
trial it was made from, is solved for the goal (secant steps, the first along the steering
curve) and the next exact trial goes there, landing within the estimate's error. The bits
estimate (:meth:`~aecodec.codecs.frozen.FrozenHyperprior.estimated_bits`) is cheap, so a
solve may take several; the PSNR estimate
(:meth:`~aecodec.codecs.frozen.FrozenHyperprior.estimated_quantization`) costs a synthesis,
so a solve takes few. Both drift from the exact values far from their trial, which is why a
first trial near the goal (from the predicted curve) matters; the measurements are in
benchmarks/DECISIONS.md.

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

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from aecodec.codecs.quality import QUALITY_MAX, QUALITY_MIN
from aecodec.errors import InputError
from aecodec.ratecontrol.steering import Curve, SteeringCurve, scale
from aecodec.ratecontrol.targets import RateTarget

BPP_AIM = 0.025  # stop searching this close to a bpp target ...
BPP_TOLERANCE = 0.03  # ... inside the promised ±3 % (a file's flush bytes add little)
SIZE_TOLERANCE = 0.025
PSNR_TOLERANCE = 0.05  # dB above a PSNR target that is accepted
PSNR_QUALITY_STEP = 0.1
# A bracket this narrow around a PSNR target is settled by its upper trial when that is at
# most PSNR_SETTLE_TOLERANCE over the target: one more trial (about a plain compress) would
# save too few bits to pay for itself (benchmarks/DECISIONS.md).
PSNR_SETTLE_QUALITIES = 1.0
PSNR_SETTLE_TOLERANCE = 2 * PSNR_TOLERANCE
QUALITY_RESOLUTION = 0.01  # qualities are stored in hundredths
MAX_TRIALS = 16
FIRST_QUALITY = 50.0
# How much steeper or flatter than the steering curve an image may be measured to run
# before the fit is distrusted (noise, or two trials on a flat stretch).
MIN_STEER_GAIN, MAX_STEER_GAIN = 0.25, 4.0
# Solving an estimate for the goal stops this close to it, on the kind's scale, or after so
# many estimates: bits estimates are cheap, a PSNR estimate costs a synthesis; the limits were
# chosen on the validation photos (benchmarks/DECISIONS.md).
SOLVE_LIMITS = {"bpp": (0.004, 6), "size": (0.004, 6), "psnr": (0.02, 2)}
Estimate = Callable[[float], float]
"""This image's value of the target's kind at a quality, estimated from one exact trial and exact at its quality."""


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
    return scale(target.kind, middle)


def _bracket_qualities(below: Trial | None, above: Trial | None) -> tuple[float, float]:
    """The qualities the goal lies between: the measured bracket's ends, or the scale's ends."""
    return (below.quality if below else QUALITY_MIN, above.quality if above else QUALITY_MAX)


def _next_quality(target: RateTarget, shape: SteeringCurve, trials: list[Trial], below: Trial | None, above: Trial | None) -> float:
    """Where the steering curve, fitted to the measurements, meets the goal.

    The curve is mapped affinely (v ↦ a + b·v) onto two measurements — the bracket once
    there is one, else the last two trials — or only shifted onto the single first one, so
    that an image whose values run steeper or flatter than the model's typical curve is
    followed after one more step; the curve's shape carries the curvature a straight secant
    misses. Steps stay strictly inside the bracket (bisection when the fit points outside).
    """
    goal = _goal(target)

    def measured(trial: Trial) -> float:
        return scale(target.kind, trial.value)

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


def first_quality(target: RateTarget, curve: Curve | None = None) -> float:
    """The quality a search tries first: where ``curve`` meets the goal, else a fixed start."""
    if curve is None:
        return FIRST_QUALITY
    return round(min(max(SteeringCurve.of(target.kind, curve).quality(_goal(target)), QUALITY_MIN), QUALITY_MAX), 2)


def search_quality(
    measure: Callable[[float], float], target: RateTarget, curve: Curve | None = None, estimator: Callable[[float], Estimate] | None = None
) -> SearchResult:
    """Find the quality that meets ``target``; ``measure(quality)`` returns the kind's value.

    Args:
        measure: The kind's value of this image at a quality.
        target: What to meet.
        curve: The model's typical curve for this kind (e.g. its validation results), or
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
    shape = SteeringCurve.of(target.kind, curve)
    quality = first_quality(target, curve)
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


def _next_quality_on_estimate(target: RateTarget, shape: SteeringCurve, latest: Trial, below: Trial | None, above: Trial | None, estimate: Estimate) -> float:
    """Where this image's estimated value, exact at the ``latest`` trial, meets the goal; inside the bracket."""
    tolerance, steps = SOLVE_LIMITS[target.kind]
    low, high = _bracket_qualities(below, above)
    scaled = lambda quality: scale(target.kind, estimate(quality))  # noqa: E731
    return round(_solve(scaled, _goal(target), latest.quality, scale(target.kind, latest.value), shape, low, high, tolerance, steps), 2)


def _solve(
    function: Callable[[float], float],
    wanted: float,
    start: float,
    start_value: float,
    shape: SteeringCurve,
    low: float,
    high: float,
    tolerance: float,
    steps: int,
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
