"""Generalized divisive normalization, in its cheap simplified form.

Ballé et al. 2016 introduced GDN, ``y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)``, as
the nonlinearity that Gaussianizes image statistics far better than ReLU for the same
width. Johnston et al. 2019 ("Computationally efficient neural image compression") showed
that the simplified form ``y_i = x_i / (beta_i + sum_j gamma_ij |x_j|)`` codes as well at a
fraction of the cost (no square, no square root), which matters on a 2-core CPU; this module
implements that form. The inverse (IGDN) multiplies instead of divides.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class GDN(nn.Module):
    """Simplified (inverse) GDN over channels.

    Parameters are stored through a squared reparametrization so that ``beta`` and
    ``gamma`` stay non-negative under any gradient step; ``beta`` is kept above a small
    floor so the division is always well defined.

    Args:
        channels: Number of channels normalized jointly.
        inverse: If true, compute IGDN (multiply by the norm) for synthesis transforms.
    """

    _BETA_FLOOR = 1e-4

    def __init__(self, channels: int, inverse: bool = False) -> None:
        super().__init__()
        self.inverse = inverse
        self.beta_sqrt = nn.Parameter(torch.ones(channels))
        self.gamma_sqrt = nn.Parameter(torch.sqrt(0.1 * torch.eye(channels) + 1e-4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        beta = self.beta_sqrt.square() + self._BETA_FLOOR
        gamma = self.gamma_sqrt.square()
        channels = gamma.shape[0]
        norm = F.conv2d(x.abs(), gamma.reshape(channels, channels, 1, 1).to(x.dtype), beta.to(x.dtype))
        return x * norm if self.inverse else x / norm


def flush_subnormal_gammas(model: nn.Module) -> None:
    """Zero every GDN weight of ``model`` whose gamma is subnormal in float32, for inference.

    Training leaves many gamma entries below float32's smallest normal number, and CPUs
    without flush-to-zero take a slow path for every product with a subnormal
    (benchmarks/DECISIONS.md, "Subnormal GDN weights"). Next to ``beta`` ≥ 1e-4 such a term
    cannot change a float32 sum, so the outputs stay bit-identical.
    """
    tiny = torch.finfo(torch.float32).tiny
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, GDN):
                module.gamma_sqrt.masked_fill_(module.gamma_sqrt.float().square() < tiny, 0.0)
