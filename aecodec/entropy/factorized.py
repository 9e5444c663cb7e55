"""Factorized (fully learned, per-channel) prior for the hyper-latent z.

Implements the univariate non-parametric density of Ballé et al. 2018 ("Variational image
compression with a scale hyperprior", appendix 6.1): the CDF of each channel is a small
monotone network ``c(x) = sigmoid(f_K(...f_1(x)))`` whose matrices are kept non-negative by
softplus, so ``p(x) = c(x + 1/2) - c(x - 1/2)`` is a valid PMF over integers. ``pmf_table``
evaluates it on an integer grid so ``entropy.tables`` can freeze it into integer CDFs.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

_LIKELIHOOD_FLOOR = 1e-9


class FactorizedDensity(nn.Module):
    """Per-channel learned CDF of a scalar latent.

    Args:
        channels: Number of independent channels.
        filters: Widths of the hidden layers of the per-channel CDF network.
        init_scale: Rough initial spread of the density, in quantization steps.
    """

    def __init__(self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0) -> None:
        super().__init__()
        widths = (1, *filters, 1)
        scale = init_scale ** (1 / (len(widths) - 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(widths) - 1):
            init = float(np.log(np.expm1(1 / scale / widths[i + 1])))
            self.matrices.append(nn.Parameter(torch.full((channels, widths[i + 1], widths[i]), init)))
            self.biases.append(nn.Parameter(torch.empty(channels, widths[i + 1], 1).uniform_(-0.5, 0.5)))
            if i < len(widths) - 2:
                self.factors.append(nn.Parameter(torch.zeros(channels, widths[i + 1], 1)))

    def _logits_cdf(self, x: torch.Tensor) -> torch.Tensor:
        """Map values of shape (C, 1, L) to CDF logits of the same shape."""
        logits = x
        for i, (matrix, bias) in enumerate(zip(self.matrices, self.biases)):
            logits = torch.matmul(F.softplus(matrix), logits) + bias
            if i < len(self.factors):
                logits = logits + torch.tanh(self.factors[i]) * torch.tanh(logits)
        return logits

    def likelihood(self, z: torch.Tensor) -> torch.Tensor:
        """Probability mass of the unit bin around every element of ``z`` (B, C, H, W)."""
        batch, channels, height, width = z.shape
        values = z.float().permute(1, 0, 2, 3).reshape(channels, 1, -1)
        lower = self._logits_cdf(values - 0.5)
        upper = self._logits_cdf(values + 0.5)
        # Evaluate on the side of the median where the sigmoid is not saturated (Ballé's trick).
        sign = -torch.sign(lower + upper).detach()
        mass = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
        mass = mass.clamp_min(_LIKELIHOOD_FLOOR)
        return mass.reshape(channels, batch, height, width).permute(1, 0, 2, 3)

    @torch.no_grad()
    def pmf_table(self, support: int) -> np.ndarray:
        """Probability of every integer in ``[-support, support]``, per channel, float64.

        Returns:
            Array of shape (C, 2 * support + 1); rows need not sum exactly to one (the
            tail mass beyond the support is handled by ``entropy.tables``).
        """
        channels = self.matrices[0].shape[0]
        grid = torch.arange(-support, support + 1, dtype=torch.float32)
        values = grid.reshape(1, 1, -1).expand(channels, 1, -1)
        upper = torch.sigmoid(self._logits_cdf(values + 0.5).double())
        lower = torch.sigmoid(self._logits_cdf(values - 0.5).double())
        return (upper - lower).reshape(channels, -1).clamp_min(0).numpy()
