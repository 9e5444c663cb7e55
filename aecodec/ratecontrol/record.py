"""The container's ``tRGT`` chunk: the rate target an encoder searched for and the value it reached.

Payload (bitstream spec, section 4): u8 kind code, u32 target, u32 reached, big-endian, in
units of 10^-6 bpp, bytes, or 10^-4 dB.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from aecodec.ratecontrol.targets import RateTarget

_RECORD = struct.Struct(">BII")
_CODES = {"bpp": 1, "size": 2, "psnr": 3}
_UNITS = {"bpp": 1e6, "size": 1.0, "psnr": 1e4}
_U32_MAX = 2**32 - 1


@dataclass(frozen=True)
class TargetRecord:
    """A rate target and the value the coded file reached, in the target's unit."""

    target: RateTarget
    reached: float

    SIZE: ClassVar[int] = _RECORD.size
    """Bytes of every packed record."""

    def pack(self) -> bytes:
        """The ``tRGT`` chunk payload (values beyond a u32 are clamped)."""
        unit = _UNITS[self.target.kind]
        return _RECORD.pack(_CODES[self.target.kind], min(round(self.target.value * unit), _U32_MAX), min(round(self.reached * unit), _U32_MAX))

    @classmethod
    def unpack(cls, payload: bytes) -> TargetRecord | None:
        """Inverse of :meth:`pack`; ``None`` for a payload this version cannot read.

        The chunk is ancillary (informational), so an unreadable one is ignored, not an error.
        """
        if len(payload) != _RECORD.size:
            return None
        code, target, reached = _RECORD.unpack(payload)
        kind = next((k for k, c in _CODES.items() if c == code), None)
        if kind is None or target == 0:
            return None
        unit = _UNITS[kind]
        return cls(RateTarget(kind, target / unit), reached / unit)
