"""Architecture configuration of the hyperprior codec, importable without torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class HyperpriorConfig:
    """Architecture of a :class:`MeanScaleHyperprior`.

    Attributes:
        n: Width of hidden layers and hyper-latent channels.
        m: Latent channels.
        knots: Number of learned gain vectors spanning the rate range.
    """

    n: int = 128
    m: int = 192
    knots: int = 8

    def to_dict(self) -> dict:
        return asdict(self)
