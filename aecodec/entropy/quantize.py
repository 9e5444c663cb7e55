"""Quantization proxies used while training (Ballé et al. 2017; Minnen & Singh 2020).

Rounding has zero gradient, so training replaces it: the *rate* term sees additive uniform
noise (a differentiable stand-in whose density matches the quantized PMF), while the
*distortion* term sees straight-through rounding, so the synthesis transform learns on the
exact values the decoder will receive.
"""

from __future__ import annotations

import torch


def add_uniform_noise(x: torch.Tensor) -> torch.Tensor:
    """Return ``x + u`` with ``u ~ U(-0.5, 0.5)``, the rate-term proxy for rounding."""
    return x + torch.empty_like(x).uniform_(-0.5, 0.5)


def round_straight_through(x: torch.Tensor) -> torch.Tensor:
    """Round in the forward pass, pass the gradient through unchanged."""
    return x + (torch.round(x) - x).detach()
