"""Gaussian conditional likelihood of the latent y given predicted mean and scale.

Minnen, Ballé, Toderici 2018 ("Joint autoregressive and hierarchical priors") model each
latent element as a Gaussian convolved with a unit uniform; the probability of the bin
around the (mean-shifted) value is a difference of two normal CDFs, computed on the
negative side of the mean where it is numerically accurate.
"""

from __future__ import annotations

import math

import torch

from aecodec.entropy.tables import SCALE_MIN

SCALE_MAX = 256.0
_LIKELIHOOD_FLOOR = 1e-9


def _std_normal_cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.erfc(-x / math.sqrt(2.0))


def gaussian_likelihood(y: torch.Tensor, mean: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Mass of the unit bin around ``y`` under N(mean, scale^2), elementwise."""
    values = (y - mean).float().abs()
    scale = scale.float().clamp(SCALE_MIN, SCALE_MAX)
    upper = _std_normal_cdf((0.5 - values) / scale)
    lower = _std_normal_cdf((-0.5 - values) / scale)
    return (upper - lower).clamp_min(_LIKELIHOOD_FLOOR)
