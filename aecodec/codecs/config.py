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
        lowest_rate_parameter: Rate parameter t that quality 1 maps to (quality 100 maps to
            the last knot). Below 0 the gains are extrapolated past the trained range; the
            value is chosen from measurements when a model is released, not in training.
        context_channels: Width of the checkerboard context model
            (:mod:`aecodec.codecs.context`); 0 means none, the hyperprior alone.
    """

    n: int = 128
    m: int = 192
    knots: int = 8
    lowest_rate_parameter: float = 0.0
    context_channels: int = 0

    def to_dict(self) -> dict:
        return asdict(self)
