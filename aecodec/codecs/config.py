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
        detail_channels: Latent channels beyond the backbone's ``m``, computed from g_a's
            1/8-resolution features by a branch of their own. The heads read only g_a's
            stages, so a codec can widen its latent (where its top quality is capacity-bound)
            without changing the backbone they were trained on.
    """

    n: int = 128
    m: int = 192
    knots: int = 8
    lowest_rate_parameter: float = 0.0
    context_channels: int = 0
    detail_channels: int = 0

    @property
    def latent_channels(self) -> int:
        """Channels of the coded latent y: the backbone's ``m`` plus the detail channels."""
        return self.m + self.detail_channels

    def to_dict(self) -> dict:
        return asdict(self)
