"""Float transforms (g_a, h_a, gains, g_s) run by torch.

The backend interface is deliberately narrow — numpy in, numpy out — so the entropy path
(:mod:`aecodec.codecs.frozen`) never touches a float library and another backend (ONNX
Runtime) can replace this one without changing what the decoder computes exactly.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from aecodec.codecs.config import HyperpriorConfig
from aecodec.codecs.hyperprior import MeanScaleHyperprior


class TorchTransforms:
    """Runs the float parts of a :class:`MeanScaleHyperprior` with torch on the CPU.

    Args:
        config: Architecture of the network.
        arrays: Weights file arrays; those under ``float.`` are the state dict.
    """

    name = "torch"

    def __init__(self, config: HyperpriorConfig, arrays: dict[str, np.ndarray]) -> None:
        self.model = MeanScaleHyperprior(config).eval()
        state = {key[len("float.") :]: torch.from_numpy(np.array(value)) for key, value in arrays.items() if key.startswith("float.")}
        self.model.load_state_dict(state)

    @torch.no_grad()
    def analysis(self, x: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Gained latent y_g (M, H/16, W/16) and hyper-latent z (N, ⌈H/64⌉, ⌈W/64⌉) of x (3, H, W).

        H and W are multiples of 16. y is edge-padded to a multiple of 4 only on its way
        into h_a, so the padding costs hyper-latent elements, never latent symbols.
        """
        image = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None]
        y = self.model.g_a(image) * self.model.gain.gain(torch.tensor([t]))
        height, width = y.shape[-2:]
        z = self.model.h_a(F.pad(y, (0, -width % 4, 0, -height % 4), mode="replicate"))
        return y[0].numpy(), z[0].numpy()

    @torch.no_grad()
    def synthesis(self, y_hat: np.ndarray, t: float) -> np.ndarray:
        """Image (3, H, W), unclipped, from the dequantized gained latent."""
        latent = torch.from_numpy(np.ascontiguousarray(y_hat, dtype=np.float32))[None]
        return self.model.g_s(latent * self.model.gain.inverse_gain(torch.tensor([t])))[0].numpy()
