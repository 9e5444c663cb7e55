"""The rate–distortion objective of the variable-rate codec: training and encoder-side refinement minimize it."""

from __future__ import annotations

import torch


def trade_off(t: float | torch.Tensor, lambda_min: float, lambda_max: float, knots: int) -> float | torch.Tensor:
    """λ at rate parameter(s) ``t``: log-linear from ``lambda_min`` at knot 0 to ``lambda_max``
    at the last knot (extrapolated beyond), for training and for encoder-side refinement alike."""
    return lambda_min * (lambda_max / lambda_min) ** (t / (knots - 1))


def rate_distortion(
    out: dict[str, torch.Tensor], x: torch.Tensor, lmbda: torch.Tensor, charged: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-image ``λ·255²·MSE + bpp``, averaged over the batch.

    Args:
        out: Output of the codec's ``forward`` (``x_hat`` and likelihoods ``y``, ``z``).
        x: Original images in [0, 1], (B, 3, H, W).
        lmbda: Trade-off per image, (B,).
        charged: Weight of each latent channel's bits in the loss, (M,); None charges every
            bit. Channels a run has just added are charged less at first
            (:func:`aecodec.train.loop.latent_charge`).

    Returns:
        ``(loss, mean MSE·255², mean bpp)``; the last two are for logging, and the bpp
        counts every bit whatever the loss charged.
    """
    batch, _, height, width = x.shape
    pixels = height * width
    mse = ((out["x_hat"].float() - x) ** 2).mean(dim=(1, 2, 3))
    y_bits = -out["y"].log2().sum(dim=(2, 3))
    z_bits = -out["z"].log2().sum(dim=(1, 2, 3))
    bpp = (y_bits.sum(dim=1) + z_bits) / pixels
    charged_bpp = bpp if charged is None else ((y_bits * charged).sum(dim=1) + z_bits) / pixels
    distortion = mse * 255**2
    loss = (lmbda * distortion + charged_bpp).mean()
    return loss, distortion.mean().detach(), bpp.mean().detach()
