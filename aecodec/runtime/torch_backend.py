"""Float networks run by torch: the codec's transforms (g_a, h_a, g_s) and the restoration heads.

The backend interface is deliberately narrow — numpy in, numpy out — so the entropy path
(:mod:`aecodec.codecs.frozen`) never touches a float library and another backend (ONNX
Runtime) can replace this one without changing what the decoder computes exactly.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from aecodec.codecs.backend_interface import ContextModel, HyperSynthesis
from aecodec.codecs.config import HyperpriorConfig
from aecodec.codecs.freeze import float_state_dict
from aecodec.codecs.hyperprior import MeanScaleHyperprior
from aecodec.codecs.registry import StoredIntegerNetworks
from aecodec.layers import flush_subnormal_gammas


class TorchTransforms:
    """Runs the float parts of a :class:`MeanScaleHyperprior` with torch on the CPU.

    Args:
        config: Architecture of the network.
        arrays: Weights file arrays; those under ``float.`` are the state dict.
    """

    name = "torch"

    def __init__(self, config: HyperpriorConfig, arrays: dict[str, np.ndarray]) -> None:
        self.model = MeanScaleHyperprior(config).eval()
        self.model.load_state_dict(float_state_dict(arrays))
        flush_subnormal_gammas(self.model)

    def integer_networks(self, stored: StoredIntegerNetworks) -> tuple[HyperSynthesis, ContextModel | None]:
        """The numpy integer networks themselves: torch runs only the float transforms, numpy the integers."""
        return stored.numpy_networks()

    @torch.no_grad()
    def analysis(self, x: np.ndarray) -> np.ndarray:
        """Latent y (M, H/16, W/16) of an image x (3, H, W), H and W multiples of 16."""
        image = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None]
        return self.model.g_a(image)[0].numpy()

    @torch.no_grad()
    def hyper_analysis(self, y_gained: np.ndarray) -> np.ndarray:
        """Hyper-latent z (N, ⌈h/4⌉, ⌈w/4⌉) of a gained latent (M, h, w).

        y is edge-padded to a multiple of 4 only on its way into h_a, so the padding costs
        hyper-latent elements, never latent symbols.
        """
        y = torch.from_numpy(np.ascontiguousarray(y_gained, dtype=np.float32))[None]
        height, width = y.shape[-2:]
        return self.model.h_a(F.pad(y, (0, -width % 4, 0, -height % 4), mode="replicate"))[0].numpy()

    @torch.no_grad()
    def synthesis(self, y_hat: np.ndarray) -> np.ndarray:
        """Image (3, H, W), unclipped, from the dequantized, de-gained latent."""
        latent = torch.from_numpy(np.ascontiguousarray(y_hat, dtype=np.float32))[None]
        return self.model.g_s(latent)[0].numpy()


class TorchHead:
    """Runs a restoration head, over the codec's own g_a, with torch on the CPU.

    Args:
        config: The head's architecture and task.
        codec_config: Architecture of the codec whose g_a is the backbone (``n``, ``m``).
        codec_arrays: That codec's weights file arrays (g_a's tensors are read from them).
        head_arrays: The head's weights file arrays; those under ``float.`` are its state dict.
    """

    name = "torch"

    def __init__(self, config, codec_config: dict, codec_arrays: dict[str, np.ndarray], head_arrays: dict[str, np.ndarray]) -> None:
        from aecodec.heads.model import BackboneAndHead, RestorationHead, load_backbone

        head = RestorationHead(config, codec_config["n"], codec_config["m"])
        head.load_state_dict(float_state_dict(head_arrays))
        self.model = BackboneAndHead(load_backbone(codec_arrays, codec_config["n"], codec_config["m"]), head).eval()
        flush_subnormal_gammas(self.model)

    @torch.no_grad()
    def __call__(self, image: np.ndarray, noise_level: float | None) -> np.ndarray:
        """Head output for one (3, H, W) image in [0, 1], H and W multiples of 16.

        Args:
            noise_level: σ / NOISE_SCALE for the denoise head, None for the others.
        """
        x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None]
        level = None if noise_level is None else torch.full((1, 1, 1, 1), float(noise_level))
        return self.model(x, level)[0].numpy()
