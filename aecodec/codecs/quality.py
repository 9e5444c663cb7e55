"""The public quality scale: its range, its default, and the check every encoder entry applies.

Quality is continuous from :data:`QUALITY_MIN` to :data:`QUALITY_MAX`; the container stores
it in hundredths, and the codec maps it linearly onto its rate parameter
(:meth:`aecodec.codecs.frozen.FrozenHyperprior.rate_parameter`). Standard library only, so
the CLI and the package facade can name the default without loading numpy.
"""

from __future__ import annotations

from aecodec.errors import InputError

QUALITY_MIN = 1.0
QUALITY_MAX = 100.0
DEFAULT_QUALITY = 75.0


def checked_quality(quality: object) -> float:
    """``quality`` as a float rounded to hundredths, or a one-line InputError.

    The container stores hundredths, so the encoder codes with exactly the value the
    decoder will read back.
    """
    try:
        value = float(quality)
    except (TypeError, ValueError) as exc:
        raise InputError(f"quality must be a number from {QUALITY_MIN:g} to {QUALITY_MAX:g}") from exc
    if not QUALITY_MIN <= value <= QUALITY_MAX:
        raise InputError(f"quality must be from {QUALITY_MIN:g} to {QUALITY_MAX:g}, got {value:g}")
    return round(value * 100) / 100
