"""Checkerboard context model (He et al. 2021, "Checkerboard Context Model for Efficient
Learned Image Compression"): a two-pass, parallel refinement of the hyperprior's parameters.

The latent grid is split like a checkerboard. *Anchors* ((row + col) even) are coded first
with the hyperprior's mean and scale alone; the *non-anchors* are then coded with
parameters refined from their decoded anchor neighbors::

    ŷ_g at anchors ─clip─► 5×5 conv (anchor taps only) ─clip-ReLU─► c
    [c, μ_h, log σ_h] ─1×1─► clip-ReLU ─1×1─► Δμ, Δlog σ   (added at non-anchors only)

Both passes are fully parallel (no serial per-element context), and the whole context path
uses only what :mod:`aecodec.entropy.integer_context` evaluates in exact integers: convolutions,
clipped ReLUs and clipped inputs. The last layer starts at zero, so a model refined from a
context-free hyperprior starts exactly where that model ended.
"""

from __future__ import annotations

import torch
from torch import nn

from aecodec.entropy.integer_context import anchor_mask
from aecodec.transforms.synthesis import HYPER_ACTIVATION_MAX

# Inputs of the context path are clipped to ±this (real units) in training and at inference,
# which bounds every integer accumulator of the exact evaluation. Gained latents of photos
# stay well inside it; clipping only limits what the *context* sees, never the symbols.
CONTEXT_INPUT_MAX = 256.0
CONTEXT_KERNEL = 5


class CheckerboardContext(nn.Module):
    """Refinement of the non-anchor entropy parameters from the anchors; see the module docstring.

    Args:
        m: Latent channels M.
        channels: Width of the context features and of the parameter network's hidden layer.

    Attributes:
        context: The 5×5 convolution over anchors. Only its taps at odd offsets (row + col
            odd) ever see an anchor from a non-anchor position; the others multiply zeros.
        hidden: First 1×1 layer of the parameter network.
        output: Last 1×1 layer (zero-initialized), producing Δμ and Δlog σ.
    """

    def __init__(self, m: int, channels: int) -> None:
        super().__init__()
        self.context = nn.Conv2d(m, channels, CONTEXT_KERNEL, padding=CONTEXT_KERNEL // 2)
        self.hidden = nn.Conv2d(channels + 2 * m, channels, 1)
        self.output = nn.Conv2d(channels, 2 * m, 1)
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)

    def forward(self, y_hat: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-scale of every latent element after the context refinement.

        Args:
            y_hat: Quantized gained latent (B, M, H, W); only its anchors are read.
            mean: Hyperprior mean (B, M, H, W).
            log_scale: Hyperprior log-scale (B, M, H, W).
        """
        anchors = torch.from_numpy(anchor_mask(*y_hat.shape[2:])).to(y_hat.device, torch.float32)[None, None]
        limit = CONTEXT_INPUT_MAX
        features = self.context(y_hat.clamp(-limit, limit) * anchors).clamp(0.0, HYPER_ACTIVATION_MAX)
        hidden = self.hidden(torch.cat([features, mean.clamp(-limit, limit), log_scale.clamp(-limit, limit)], dim=1))
        delta_mean, delta_log_scale = self.output(hidden.clamp(0.0, HYPER_ACTIVATION_MAX)).chunk(2, dim=1)
        non_anchors = 1.0 - anchors
        return mean + delta_mean * non_anchors, log_scale + delta_log_scale * non_anchors
