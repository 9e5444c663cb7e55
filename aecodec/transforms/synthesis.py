"""Synthesis transforms: the image decoder g_s and the hyper-decoder h_s.

h_s is built only from stride-1 3×3 convolutions, ReLUs clipped to a fixed range, and
depth-to-space upsampling (a sub-pixel convolution, equivalent to a strided transposed
convolution). Those three operations are what ``entropy.integer_hyper`` can evaluate in
exact integer arithmetic, which is how the decoder picks probability tables identically on
every machine (Ballé, Johnston, Minnen 2019, "Integer networks for data compression with
latent-variable models").
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from aecodec.layers import GDN, deconv

# Upper clip of h_s activations. Bounding activations bounds every integer accumulator, so
# the exact evaluation provably stays below 2^53 (Ballé et al. 2019 use a clipped ReLU too).
HYPER_ACTIVATION_MAX = 64.0


class SynthesisTransform(nn.Module):
    """g_s: latent ŷ (M ch) at 1/16 → image (3 ch), mirror of g_a with inverse GDN."""

    def __init__(self, n: int, m: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            deconv(m, n),
            GDN(n, inverse=True),
            deconv(n, n),
            GDN(n, inverse=True),
            deconv(n, n),
            GDN(n, inverse=True),
            deconv(n, 3),
        )

    def forward(self, y_hat: torch.Tensor) -> torch.Tensor:
        return self.net(y_hat)


class HyperSynthesis(nn.Module):
    """h_s: hyper-latent ẑ (N ch) → per-element mean and log-scale of y (2·M ch), ×4 upsampled.

    Attributes:
        convs: The three 3×3 convolutions, in order; ``entropy.integer_hyper`` reads them.
    """

    def __init__(self, n: int, m: int) -> None:
        super().__init__()
        hidden = self.hidden_channels(m)
        self.convs = nn.ModuleList(
            [
                nn.Conv2d(n, 4 * n, 3, padding=1),
                nn.Conv2d(n, 4 * hidden, 3, padding=1),
                nn.Conv2d(hidden, 2 * m, 3, padding=1),
            ]
        )

    @staticmethod
    def hidden_channels(m: int) -> int:
        """Channels after the second upsampling, between N and 2·M."""
        return m * 3 // 2

    def forward(self, z_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(mean, log_scale)`` of y, each (B, M, 4h, 4w)."""
        x = z_hat
        for conv in self.convs[:-1]:
            x = F.pixel_shuffle(conv(x), 2).clamp(0.0, HYPER_ACTIVATION_MAX)
        mean, log_scale = self.convs[-1](x).chunk(2, dim=1)
        return mean, log_scale
