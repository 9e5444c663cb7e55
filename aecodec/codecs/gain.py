"""Continuous-rate gain units (Cui et al. 2021, "Asymmetric Gained Deep Image Compression").

One network serves every rate by scaling the latent channel-wise before quantization
(gain ``g``) and after it (inverse gain ``g'``): a larger gain means a finer effective
quantization step and a higher rate. The gains are learned at ``K`` knots of a rate
parameter ``t ∈ [0, K-1]`` and interpolated exponentially (linearly in the log domain)
between knots, which Cui et al. show yields a smooth, monotone rate–distortion continuum.
Below the first knot (t < 0) the first segment is extrapolated, which reaches lower rates
than training covered, and above the last knot the last segment; how far that stays useful
is measured, not assumed (see the model's ``lowest_rate_parameter`` and
``highest_rate_parameter``).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class GainUnit(nn.Module):
    """Learned per-channel gain and inverse gain at ``knots`` rate points.

    Args:
        channels: Latent channels M.
        knots: Number of learned gain vectors K (≥ 2).
        spread: Initial ratio between the largest and smallest gain; roughly the ratio of
            quantization steps between the lowest and highest rate.
    """

    def __init__(self, channels: int, knots: int, spread: float = 12.0) -> None:
        super().__init__()
        init = torch.linspace(-0.5 * math.log(spread), 0.5 * math.log(spread), knots)
        self.log_gain = nn.Parameter(init[:, None].repeat(1, channels))
        self.log_inverse_gain = nn.Parameter(-init[:, None].repeat(1, channels))

    @property
    def knots(self) -> int:
        return self.log_gain.shape[0]

    def _interpolate(self, table: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Exponentially interpolate ``table`` (K, M) at rates ``t`` (B,) → (B, M, 1, 1)."""
        lower = t.floor().clamp(0, self.knots - 2).long()
        frac = (t - lower)[:, None]
        log_value = table[lower] * (1 - frac) + table[lower + 1] * frac
        return log_value.exp()[:, :, None, None]

    def gain(self, t: torch.Tensor) -> torch.Tensor:
        """Encoder-side gain for rates ``t``, shaped to broadcast over (B, M, H, W)."""
        return self._interpolate(self.log_gain, t)

    def inverse_gain(self, t: torch.Tensor) -> torch.Tensor:
        """Decoder-side inverse gain for rates ``t``."""
        return self._interpolate(self.log_inverse_gain, t)
