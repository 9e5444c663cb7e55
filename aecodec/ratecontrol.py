"""Rate control: find the quality that meets a bits-per-pixel, file-size or PSNR target.

Quality is continuous (hundredths) and file size and PSNR grow monotonically with it, so
the search is a safeguarded secant method on a bracket of qualities: the measured value is
first mapped to a scale on which it is nearly linear in quality (log bits for sizes, dB for
PSNR), each step interpolates between the two nearest measurements that straddle the goal,
and a step that would leave the bracket is replaced by bisection. Measuring a quality is
the caller's business (:func:`aecodec.pipeline.compress` reuses one analysis transform for
every trial), so this module knows nothing of images and is tested on plain functions.

Acceptance, per target kind:

* ``bpp``: within ±:data:`BPP_TOLERANCE` of the target (the file's bits over its pixels);
  the search stops as soon as it is within ±:data:`BPP_AIM`.
* ``size``: never above the target and within :data:`SIZE_TOLERANCE` below it — or the
  highest quality that fits, when quality 100 is smaller than the target.
* ``psnr``: at least the target, with the least bits: a quality whose PSNR is within
  :data:`PSNR_TOLERANCE` above the target, or else the lowest quality (to
  :data:`PSNR_QUALITY_STEP`) whose PSNR reaches it.

A target outside what qualities 1–100 can give raises :class:`InputError` naming the
reachable range, rather than silently returning something else.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass, field
from typing import Callable

from aecodec.codecs.frozen import QUALITY_MAX, QUALITY_MIN
from aecodec.errors import InputError

BPP_AIM = 0.015  # stop searching this close to a bpp target ...
BPP_TOLERANCE = 0.03  # ... which keeps well inside the promised ±3 %
SIZE_TOLERANCE = 0.02
PSNR_TOLERANCE = 0.05  # dB above a PSNR target that is accepted (about 1 % more bits)
PSNR_QUALITY_STEP = 0.1
MAX_TRIALS = 16
FIRST_QUALITY = 50.0
# Typical slopes of the quality scale (log-bpp and dB per quality step) for the first step
# away from the first quality when no prior curve is given; every later step uses the
# measured secant instead.
FIRST_SLOPE = {"bpp": 0.024, "size": 0.024, "psnr": 0.1}
Prior = list[tuple[float, float]]
"""The model's typical (quality, value) curve, ascending in quality: where to start and how steep."""
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


def _prior_segment(target: RateTarget, prior: Prior, quality: float | None = None) -> tuple[float, float]:
    """On the kind's scale, the quality where ``prior`` meets the goal and the slope there.

    With ``quality`` given, the slope of the prior's segment around that quality instead.
    """
    points = [(q, _scale(target.kind, v)) for q, v in prior]
    goal = _goal(target)
    segments = list(zip(points, points[1:]))
    for (q0, v0), (q1, v1) in segments:
        inside = q0 <= quality <= q1 if quality is not None else min(v0, v1) <= goal <= max(v0, v1)
        if inside and v1 != v0:
            slope = (v1 - v0) / (q1 - q0)
            return q0 + (goal - v0) / slope, slope
    (q0, v0), (q1, v1) = segments[0] if goal < points[0][1] else segments[-1]
    slope = (v1 - v0) / (q1 - q0)
    return min(max(q0 + (goal - v0) / slope if slope > 0 else FIRST_QUALITY, QUALITY_MIN), QUALITY_MAX), slope


def _next_quality(target: RateTarget, below: Trial | None, above: Trial | None, last: Trial, prior: Prior | None) -> float:
    """Secant step toward the goal, kept strictly inside the bracket (bisection fallback)."""
    goal = _goal(target)
    if below and above:
        rise = _scale(target.kind, above.value) - _scale(target.kind, below.value)
        slope = rise / (above.quality - below.quality)
        start = below
    else:
        slope = _prior_segment(target, prior, last.quality)[1] if prior else FIRST_SLOPE[target.kind]
        start = last
    guess = start.quality + (goal - _scale(target.kind, start.value)) / slope if slope > 0 else math.nan
    low = below.quality if below else QUALITY_MIN
    high = above.quality if above else QUALITY_MAX
    if below and above:
        if not low < guess < high:  # also catches nan
            guess = (low + high) / 2
    else:
        guess = min(max(guess, low), high) if math.isfinite(guess) else (low + high) / 2
    return round(guess, 2)


def first_quality(target: RateTarget, prior: Prior | None = None) -> float:
    """The quality a search tries first: where ``prior`` meets the goal, else a fixed start."""
    return round(_prior_segment(target, prior)[0], 2) if prior else FIRST_QUALITY


def search_quality(measure: Callable[[float], float], target: RateTarget, prior: Prior | None = None) -> SearchResult:
    """Find the quality that meets ``target``; ``measure(quality)`` returns the kind's value.

    Args:
        measure: The kind's value of this image at a quality.
        target: What to meet.
        prior: The model's typical curve for this kind (e.g. its validation results): the
            search starts where it meets the target and takes its slope until a second
            measurement gives a secant, which saves trials on targets far from the middle.

    Raises:
        InputError: The target is outside what quality 1–100 reaches for this image.
    """
    trials: list[Trial] = []
    below: Trial | None = None  # highest quality measured under the goal
    above: Trial | None = None  # lowest quality measured at or over the goal
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
        if below and above and above.quality - below.quality <= _resolution(target):
            break
        quality = _next_quality(target, below, above, trial, prior)
    return _best(target, trials, below, above)


def _resolution(target: RateTarget) -> float:
    return PSNR_QUALITY_STEP if target.kind == "psnr" else 0.01


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
