"""Task heads that decode the codec's own analysis features: one backbone for every task.

The backbone is the codec's g_a with the codec's weights. A head taps all four of its
stages (1/2 … 1/16 resolution) like the decoder half of a U-Net, and adds a light
full-resolution path from the input, because a 1/16-resolution latent cannot carry the
fine detail that denoising must keep::

    x ─► g_a stage 1 ─► stage 2 ─► stage 3 ─► stage 4 (latent y)
    │         │            │          │            │
    │         │            │          │        conv + res ─► up
    │         │            │          └──────── cat ─ res ─► up
    │         │            └─────────────────── cat ─ res ─► up
    │         └──────────────────────────────── cat ─ res ─► up   (colorize stops here: logits at 1/2)
    └─ conv ─ conv ─────────────────────────── cat ─ res ─► conv ─► + x  (denoise: RGB residual)

The backbone stays frozen: fine-tuning it would change the codec's latents (and so every
file's meaning) or ship a second encoder, which is exactly what sharing is meant to avoid.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from aecodec.heads.backbone import backbone_arrays
from aecodec.heads.config import HeadConfig
from aecodec.transforms.analysis import AnalysisTransform


class ResidualBlock(nn.Module):
    """conv 3×3 → ReLU → conv 3×3, added to the input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Upsample(nn.Module):
    """×2 upsampling by a 1×1 convolution and pixel shuffle (DepthToSpace in ONNX)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.expand = nn.Conv2d(in_channels, 4 * out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(self.expand(x), 2)


class Level(nn.Module):
    """One decoder level: fuse the upsampled decoder state with a skip input, then refine."""

    def __init__(self, skip_channels: int, below_channels: int, width: int, blocks: int) -> None:
        super().__init__()
        self.fuse = nn.Conv2d(skip_channels + below_channels, width, 3, padding=1)
        self.refine = nn.Sequential(*[ResidualBlock(width) for _ in range(blocks)])

    def forward(self, skip: torch.Tensor, below: torch.Tensor | None) -> torch.Tensor:
        x = skip if below is None else torch.cat([skip, below], dim=1)
        return self.refine(F.relu(self.fuse(x)))


class RestorationHead(nn.Module):
    """Decoder of one task over the frozen backbone's features.

    Args:
        config: Head architecture and task.
        n: Width of the backbone's hidden stages.
        m: Channels of the backbone's latent.
    """

    def __init__(self, config: HeadConfig, n: int, m: int) -> None:
        super().__init__()
        self.config = config
        extra = 1 if config.noise_input else 0
        w0, w1, w2, w3, w4 = config.widths
        b0, b1, b2, b3, b4 = config.blocks
        self.level4 = Level(m + extra, 0, w4, b4)
        self.up4 = Upsample(w4, w3)
        self.level3 = Level(n, w3, w3, b3)
        self.up3 = Upsample(w3, w2)
        self.level2 = Level(n, w2, w2, b2)
        self.up2 = Upsample(w2, w1)
        self.level1 = Level(n, w1, w1, b1)
        if config.output_stride == 1:
            self.up1 = Upsample(w1, w0)
            self.input_path = nn.Sequential(nn.Conv2d(3 + extra, w0, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(w0, w0, 3, padding=1))
            self.level0 = Level(w0, w0, w0, b0)
            self.output = nn.Conv2d(w0, config.out_channels, 3, padding=1)
        else:
            self.output = nn.Conv2d(w1, config.out_channels, 1)

    def forward(self, x: torch.Tensor, features: list[torch.Tensor], noise_level: torch.Tensor | None = None) -> torch.Tensor:
        """Decode the task output.

        Args:
            x: The backbone's input image in [0, 1], (B, 3, H, W), H and W multiples of 16.
            features: ``g_a.features(x)``: the four stage outputs.
            noise_level: (B, 1, 1, 1) σ / :data:`aecodec.heads.config.NOISE_SCALE`; only for the denoise head.

        Returns:
            Denoise: the restored image (B, 3, H, W), unclipped. Colorize: chroma-bin logits
            (B, bins², H/2, W/2).
        """
        f1, f2, f3, y = features
        if self.config.noise_input:
            y = torch.cat([y, noise_level.expand(-1, 1, *y.shape[2:]).to(y.dtype)], dim=1)
        h = self.level4(y, None)
        h = self.level3(f3, self.up4(h))
        h = self.level2(f2, self.up3(h))
        h = self.level1(f1, self.up2(h))
        if self.config.output_stride == 2:
            return self.output(h)
        inputs = torch.cat([x, noise_level.expand(-1, 1, *x.shape[2:]).to(x.dtype)], dim=1)
        h = self.level0(self.input_path(inputs), self.up1(h))
        return x + self.output(h)


class BackboneAndHead(nn.Module):
    """The backbone g_a followed by a head: what inference (and ONNX export) runs.

    Args:
        backbone: The codec's g_a.
        head: The task head.
        train_backbone: Let gradients reach g_a (only to measure what freezing it costs;
            shipped heads always run on the frozen codec g_a).
    """

    def __init__(self, backbone: AnalysisTransform, head: RestorationHead, train_backbone: bool = False) -> None:
        super().__init__()
        self.backbone = backbone.requires_grad_(train_backbone).eval()
        self.head = head
        self.train_backbone = train_backbone

    def forward(self, x: torch.Tensor, noise_level: torch.Tensor | None = None) -> torch.Tensor:
        with torch.set_grad_enabled(self.train_backbone and torch.is_grad_enabled()):
            features = self.backbone.features(x)
        return self.head(x, features, noise_level)


def load_backbone(codec_arrays: dict, n: int, m: int) -> AnalysisTransform:
    """The codec's g_a with the codec's weights, from its weights file's arrays."""
    backbone = AnalysisTransform(n, m)
    backbone.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in backbone_arrays(codec_arrays).items()})
    return backbone
