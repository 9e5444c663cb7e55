"""Building blocks of the transforms: normalisation layers and conv helpers."""

from aecodec.layers.gdn import GDN, flush_subnormal_gammas
from aecodec.layers.conv import conv, deconv

__all__ = ["GDN", "conv", "deconv", "flush_subnormal_gammas"]
