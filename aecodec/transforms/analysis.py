"""Analysis transforms: the image encoder g_a (shared backbone) and the hyper-encoder h_a."""

from __future__ import annotations

import torch
from torch import nn

from aecodec.layers import GDN, conv
from aecodec.transforms.geometry import HYPER_STRIDE, STRIDE


class AnalysisTransform(nn.Module):
    """g_a: four stride-2 5×5 convolutions with GDN, image (3 ch) → latent (M ch) at 1/16.

    The four stages are the backbone the restoration heads tap. An optional detail branch
    (``depth`` stride-2 convolutions from an earlier stage) adds latent channels that only
    the codec reads, so the codec's latent can grow while the backbone stays as it is.

    Args:
        n: Width of the hidden layers.
        m: Number of latent channels of the backbone.
        detail: Number of detail channels appended to the latent (0: none).
        depth: Stride-2 convolutions of the detail branch (1: from the 1/8-resolution
            stage, one convolution, as hyperprior-v6 has it; 2: from the 1/4-resolution
            stage, with a GDN layer between the two, as hyperprior-v7 has it; 3: from the
            1/2-resolution stage).
    """

    stride = STRIDE

    def __init__(self, n: int, m: int, detail: int = 0, depth: int = 1) -> None:
        super().__init__()
        self.stages = nn.ModuleList(
            [
                nn.Sequential(conv(3, n), GDN(n)),
                nn.Sequential(conv(n, n), GDN(n)),
                nn.Sequential(conv(n, n), GDN(n)),
                conv(n, m),
            ]
        )
        self.detail = _detail_branch(n, detail, depth) if detail else None
        self.depth = depth

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of every stage (1/2, 1/4, 1/8, 1/16 resolution), for heads that tap them."""
        outputs = []
        for stage in self.stages:
            x = stage(x)
            outputs.append(x)
        return outputs

    def latent(self, features: list[torch.Tensor]) -> torch.Tensor:
        """The codec's latent from :meth:`features`: the last stage, then the detail channels."""
        if self.detail is None:
            return features[-1]
        return torch.cat([features[-1], self.detail(features[-1 - self.depth])], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.latent(self.features(x))


def _detail_branch(n: int, channels: int, depth: int) -> nn.Module:
    """``depth`` stride-2 convolutions with GDN between them, ``n`` → ``channels``.

    A single convolution stays a bare module, so its parameters keep the names that
    hyperprior-v6's recipe trained (``g_a.detail.weight``).
    """
    if depth == 1:
        return conv(n, channels)
    hidden = [module for _ in range(depth - 1) for module in (conv(n, n), GDN(n))]
    return nn.Sequential(*hidden, conv(n, channels))


class HyperAnalysis(nn.Module):
    """h_a: latent y (M ch) → hyper-latent z (N ch) at a further 1/4 resolution."""

    stride = HYPER_STRIDE // STRIDE

    def __init__(self, n: int, m: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            conv(m, n, 3, 1),
            nn.ReLU(inplace=True),
            conv(n, n, 5, 2),
            nn.ReLU(inplace=True),
            conv(n, n, 5, 2),
        )

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.net(y)
