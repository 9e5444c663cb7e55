"""Building blocks of the transforms: normalization layers and conv helpers."""

from aecodec.layers.conv import conv, deconv
from aecodec.layers.gdn import GDN, flush_subnormal_gammas

__all__ = ["GDN", "conv", "deconv", "flush_subnormal_gammas"]
