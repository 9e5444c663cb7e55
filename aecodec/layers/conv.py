"""Convolution helpers with the padding conventions every transform shares.

A stride-2 convolution with kernel k and padding k // 2 maps H to ceil(H / 2); the matching
transposed convolution with ``output_padding = 1`` maps H back to 2H. The codec pads images
to a multiple of its total stride so these round-trip exactly.
"""

from __future__ import annotations

from torch import nn


def conv(in_channels: int, out_channels: int, kernel_size: int = 5, stride: int = 2) -> nn.Conv2d:
    """A 'same'-padded convolution that downsamples by ``stride``."""
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2)


def deconv(in_channels: int, out_channels: int, kernel_size: int = 5, stride: int = 2) -> nn.ConvTranspose2d:
    """A transposed convolution that upsamples by exactly ``stride``."""
    return nn.ConvTranspose2d(
        in_channels,
        out_channels,
        kernel_size,
        stride=stride,
        padding=kernel_size // 2,
        output_padding=stride - 1,
    )
