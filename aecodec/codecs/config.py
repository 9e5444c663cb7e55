"""Architecture configuration of the hyperprior codec, importable without torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from aecodec.errors import InputError

MAX_DETAIL_DEPTH = 3
"""A detail branch reads at most g_a's 1/2-resolution features: three stride-2 convolutions to 1/16."""


@dataclass(frozen=True)
class HyperpriorConfig:
    """Architecture of a :class:`MeanScaleHyperprior`.

    Attributes:
        n: Width of the hidden layers of the transforms g_a and g_s.
        m: Latent channels.
        knots: Number of learned gain vectors spanning the rate range.
        lowest_rate_parameter: Rate parameter t that quality 1 maps to. Below 0 the gains
            are extrapolated past the trained range; the value is chosen from measurements
            when a model is released, not in training.
        highest_rate_parameter: Rate parameter t that quality 100 maps to; None is the last
            knot (K − 1). Up to one knot spacing above it the last segment of the gains is
            extrapolated: a codec whose transforms have capacity left above its top knot
            reaches higher rates (chosen from measurements at release, like the lowest).
        context_channels: Width of the checkerboard context model
            (:mod:`aecodec.codecs.context`); 0 means none, the hyperprior alone.
        detail_channels: Latent channels beyond the backbone's ``m``, computed from g_a's
            features by a branch of their own. The heads read only g_a's stages, so a codec
            can widen its latent (where its top quality is capacity-bound) without changing
            the backbone they were trained on.
        detail_depth: Stride-2 convolutions of the detail branch (GDN between them): 1 reads
            the backbone's 1/8-resolution features, 2 its 1/4-resolution ones, which the
            backbone's last two stages have not yet narrowed to ``m`` channels, 3 its
            1/2-resolution ones.
        hyper_channels: Width of h_a and h_s and channels of the hyper-latent z; None (the
            default) is ``n``. A codec grown wider (:mod:`aecodec.train.widen`) keeps its
            parent's hyper path, whose integer tables and exact hyper-decoder stay as cheap.
    """

    n: int = 128
    m: int = 192
    knots: int = 8
    lowest_rate_parameter: float = 0.0
    highest_rate_parameter: float | None = None
    context_channels: int = 0
    detail_channels: int = 0
    detail_depth: int = 1
    hyper_channels: int | None = None

    def __post_init__(self) -> None:
        if self.hyper_channels is None:
            object.__setattr__(self, "hyper_channels", self.n)
        if not 1 <= self.detail_depth <= MAX_DETAIL_DEPTH:
            raise InputError(f"detail_depth is the detail branch's stride-2 convolutions, 1 to {MAX_DETAIL_DEPTH}, not {self.detail_depth}")
        if not self.knots - 1 <= self.top_rate_parameter <= self.knots:
            raise InputError(
                f"highest_rate_parameter extrapolates the gains at most one knot spacing above the last knot: "
                f"{self.knots - 1} to {self.knots}, not {self.highest_rate_parameter:g}"
            )

    @property
    def top_rate_parameter(self) -> float:
        """Rate parameter of quality 100: ``highest_rate_parameter``, else the last knot."""
        return float(self.knots - 1) if self.highest_rate_parameter is None else float(self.highest_rate_parameter)

    @property
    def latent_channels(self) -> int:
        """Channels of the coded latent y: the backbone's ``m`` plus the detail channels."""
        return self.m + self.detail_channels

    def to_dict(self) -> dict:
        return asdict(self)
