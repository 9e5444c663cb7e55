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
from torch.nn import functional as F

from aecodec.codecs.config import HyperpriorConfig
from aecodec.codecs.context import CheckerboardContext
from aecodec.codecs.gain import GainUnit
from aecodec.entropy.factorized import FactorizedDensity
from aecodec.entropy.gaussian import gaussian_likelihood
from aecodec.entropy.quantize import add_uniform_noise, round_straight_through
from aecodec.entropy.tables import SCALE_MIN
from aecodec.transforms.analysis import AnalysisTransform, HyperAnalysis
from aecodec.transforms.synthesis import HyperSynthesis, SynthesisTransform


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
        latent = config.latent_channels
        self.g_a = AnalysisTransform(config.n, config.m, config.detail_channels, config.detail_depth)
        self.g_s = SynthesisTransform(config.n, latent)
        self.h_a = HyperAnalysis(config.hyper_channels, latent)
        self.h_s = HyperSynthesis(config.hyper_channels, latent)
        self.gain = GainUnit(latent, config.knots)
        self.z_density = FactorizedDensity(config.hyper_channels)
        self.context = CheckerboardContext(latent, config.context_channels) if config.context_channels else None

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
        return self.forward_latent(self.g_a(x) * self.gain.gain(t), t)

    def forward_latent(self, y: torch.Tensor, t: torch.Tensor, exact_rate: bool = False) -> dict[str, torch.Tensor]:
        """The training pass from the gained latent on: what :meth:`forward` runs after g_a.

        Encoder-side refinement (:mod:`aecodec.codecs.refine`) optimizes ``y`` itself through
        this path. ``y`` may have any size: it is edge-padded to a multiple of 4 on its way
        into h_a, as :class:`~aecodec.codecs.frozen.FrozenHyperprior` does, and the entropy
        parameters are cropped back to it.

        Args:
            y: Gained latent (B, M, h, w).
            t: Rate parameter per image, (B,).
            exact_rate: Also return ``y_exact`` and ``z_exact``, the likelihoods of the
                rounded symbols, even in training mode: with ``x_hat`` (always computed from
                them) they give the loss the coded file will have, at almost no extra cost.
        """
        height, width = y.shape[-2:]
        z = self.h_a(F.pad(y, (0, -width % 4, 0, -height % 4), mode="replicate"))
        z_hat = round_straight_through(z)
        z_likelihood = self.z_density.likelihood(add_uniform_noise(z) if self.training else z_hat)
        mean, log_scale = (parameter[..., :height, :width] for parameter in self.h_s(z_hat))
        if self.context is not None:
            mean, log_scale = self.context(round_straight_through(y - mean) + mean, mean, log_scale)
        scale = log_scale.float().exp().clamp_min(SCALE_MIN)
        y_hat = round_straight_through(y - mean) + mean
        y_likelihood = gaussian_likelihood(add_uniform_noise(y) if self.training else y_hat, mean, scale)
        x_hat = self.g_s(y_hat * self.gain.inverse_gain(t))
        out = {"x_hat": x_hat, "y": y_likelihood, "z": z_likelihood}
        if exact_rate:
            out["y_exact"] = gaussian_likelihood(y_hat, mean, scale)
            out["z_exact"] = self.z_density.likelihood(z_hat)
        return out
