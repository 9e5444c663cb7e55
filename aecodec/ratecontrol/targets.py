"""What a user may ask rate control for: a bits-per-pixel, file-size or PSNR target.

Standard library only, so the CLI parses targets without loading numpy.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from aecodec.errors import InputError

KINDS = ("bpp", "size", "psnr")
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


def parse_size(text: str) -> int:
    """Bytes in a size such as ``40000``, ``40KB``, ``40 kB``, ``1.5MB`` or ``64KiB``.

    KB and MB are decimal (1000, 1000²), KiB and MiB binary (1024, 1024²), as in SI/IEC.
    """
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", text)
    if not match or match.group(2).lower() not in _SIZE_UNITS:
        raise InputError(f"cannot read size {text!r}; write e.g. 40000, 40KB, 1.5MB or 64KiB")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])
