"""Variable-rate mean-scale hyperprior codec.

Minnen, Ballé, Toderici 2018 ("Joint Autoregressive and Hierarchical Priors for Learned
Image Compression"), mean-scale hyperprior without the autoregressive context, made
continuously variable-rate with gain units (Cui et al. 2021)::

    x ─g_a─► y ─×gain(t)─► y_g ─round(y_g − μ)+μ─► ŷ_g ─×inv_gain(t)─► ŷ ─g_s─► x̂
                             │                  ▲ μ, σ
                             └─h_a─► z ─round─► ẑ ─h_s─┘
                                         │ factorized prior p(ẑ)

The hyper-decoder predicts the mean and scale of the *gained* latent y_g directly, so the
rate parameter never enters the exact (integer) path that selects probability tables. With
``context_channels`` > 0 a checkerboard context model (:mod:`aecodec.codecs.context`) refines
μ and σ of half the latent elements from the other, already decoded half.
"""

from __future__ import annotations

import torch
from torch import nn

from aecodec.codecs.config import HyperpriorConfig
from aecodec.codecs.context import CheckerboardContext
from aecodec.codecs.gain import GainUnit
from aecodec.entropy.factorized import FactorizedDensity
from aecodec.entropy.gaussian import SCALE_MIN, gaussian_likelihood
from aecodec.entropy.quantize import add_uniform_noise, round_straight_through
from aecodec.transforms import AnalysisTransform, HyperAnalysis, HyperSynthesis, SynthesisTransform


class MeanScaleHyperprior(nn.Module):
    """Training-time network of the codec; see the module docstring for the data flow.

    ``forward`` is the differentiable training path. :func:`aecodec.codecs.freeze.freeze`
    is the contract's ``update()``: it turns this network into integer tables and an
    integer h_s, and :class:`aecodec.codecs.frozen.FrozenHyperprior` codes with them.

    Args:
        config: Architecture widths and number of gain knots.
    """

    def __init__(self, config: HyperpriorConfig) -> None:
        super().__init__()
        self.config = config
        self.g_a = AnalysisTransform(config.n, config.m)
        self.g_s = SynthesisTransform(config.n, config.m)
        self.h_a = HyperAnalysis(config.n, config.m)
        self.h_s = HyperSynthesis(config.n, config.m)
        self.gain = GainUnit(config.m, config.knots)
        self.z_density = FactorizedDensity(config.n)
        self.context = CheckerboardContext(config.m, config.context_channels) if config.context_channels else None

    @property
    def stride(self) -> int:
        """Total downsampling of the image to ẑ; inputs are padded to a multiple of it."""
        return AnalysisTransform.stride * HyperAnalysis.stride

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> dict[str, torch.Tensor]:
        """Training pass.

        Args:
            x: Images in [0, 1], (B, 3, H, W), H and W multiples of ``stride``.
            t: Rate parameter per image in [0, knots − 1], (B,).

        Returns:
            ``x_hat`` (B, 3, H, W), and likelihoods ``y`` and ``z`` whose −log2 sum is the
            rate. In training mode the rate term sees uniform noise while the distortion
            path and h_s see straight-through rounding (Minnen & Singh 2020); in eval mode
            everything is rounded, so the rate is that of the actual symbols.
        """
        y = self.g_a(x) * self.gain.gain(t)
        z = self.h_a(y)
        z_hat = round_straight_through(z)
        z_likelihood = self.z_density.likelihood(add_uniform_noise(z) if self.training else z_hat)
        mean, log_scale = self.h_s(z_hat)
        if self.context is not None:
            mean, log_scale = self.context(round_straight_through(y - mean) + mean, mean, log_scale)
        scale = log_scale.float().exp().clamp_min(SCALE_MIN)
        y_hat = round_straight_through(y - mean) + mean
        y_likelihood = gaussian_likelihood(add_uniform_noise(y) if self.training else y_hat, mean, scale)
        x_hat = self.g_s(y_hat * self.gain.inverse_gain(t))
        return {"x_hat": x_hat, "y": y_likelihood, "z": z_likelihood}
