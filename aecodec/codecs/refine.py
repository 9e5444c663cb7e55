"""Encoder-side latent refinement: spend encoding time to find a latent that codes better.

g_a is *amortized*: one forward pass predicts a latent for any image, and for a network
trained for a few CPU-hours that prediction falls measurably short of the best latent for the
image under the codec's own loss (the amortization gap; Campos et al. 2019, "Content
adaptive optimization for neural image compression"; Yang et al. 2020, "Improving inference
for neural image compression"). Refinement closes part of the gap by gradient descent on the
gained latent of this one image, through the model's decoder side (h_a, h_s, the context
model, g_s), on the training loss at the quality's own trade-off, λ(t)·255²·MSE + bpp, with
the training proxies (uniform noise for the rate, straight-through rounding for the
distortion). On CPUs with bf16 instructions the passes run under bf16 autocast, where more
steps fit in the same time (benchmarks/DECISIONS.md, "Encoder-side refinement").

Only the encoder changes: the result is an ordinary latent, quantized and coded exactly as
any other, so every aecodec decodes the file, with either backend. It needs torch for the
gradients (the ``train`` extra). Large images are refined in overlapping tiles, each with its
own seeded noise, so the result is deterministic and memory stays bounded.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from aecodec.codecs.hyperprior import MeanScaleHyperprior
from aecodec.codecs.objective import rate_distortion, trade_off
from aecodec.codecs.tiling import spans
from aecodec.transforms.analysis import AnalysisTransform

# Tiles of the refinement, in latent elements (16 pixels each). The margin is a multiple of 4
# so every tile's hyper-latent grid lines up with the whole image's. Tiles of 32 + 2·4 elements
# (640 pixels) bound g_s's activations and gradients (benchmarks/results/memory.json).
REFINE_TILE = 32
REFINE_MARGIN = 4
# Adam's step size on the gained latent (whose unit is one quantization step) is this budget
# divided by the number of steps, cosine-decayed to 0: the same total distance for any step
# count; the budget was chosen on training photos (benchmarks/DECISIONS.md, "Encoder-side
# refinement").
STEP_BUDGET = 0.2


def native_bf16() -> bool:
    """Whether this CPU has bf16 instructions (AVX512-BF16), where autocast pays off
    (benchmarks/DECISIONS.md, "Encoder-side refinement"). Elsewhere autocast would be
    emulated, so float32 is kept there."""
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return bool(probe and probe())


class LatentRefiner:
    """Refines latents of one codec model at its trained trade-offs.

    Args:
        model: The codec's float network (its own copy: refinement switches it to training
            mode, where the rate sees uniform noise).
        lambda_min: Training trade-off at rate parameter 0.
        lambda_max: Training trade-off at the last knot.
    """

    def __init__(self, model: MeanScaleHyperprior, lambda_min: float, lambda_max: float) -> None:
        self.model = model.train()
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)
        self.lambda_min = lambda_min
        self.lambda_max = lambda_max
        self.bf16 = native_bf16()

    def trade_off(self, t: float) -> float:
        """λ at rate parameter ``t``, as in training (extrapolated below knot 0)."""
        return trade_off(t, self.lambda_min, self.lambda_max, self.model.config.knots)

    def refine(self, x: np.ndarray, latent: np.ndarray, t: float, steps: int) -> np.ndarray:
        """A latent that codes ``x`` at rate parameter ``t`` with a lower rate–distortion loss.

        Args:
            x: The padded image (3, H, W), uint8 or float in [0, 1].
            latent: Its latent y from the analysis transform (M, H/16, W/16).
            t: Rate parameter of the quality it will be coded at.
            steps: Gradient steps per tile; 0 returns ``latent`` unchanged.

        Returns:
            The refined latent, same shape and dtype, before the gains (like ``latent``).
        """
        if steps <= 0:
            return latent
        stride = AnalysisTransform.stride
        refined = np.empty_like(latent)
        _, height, width = latent.shape
        tile_index = 0
        for rows in spans(height, REFINE_TILE, REFINE_MARGIN):
            for cols in spans(width, REFINE_TILE, REFINE_MARGIN):
                pixels = x[:, rows.read_start * stride : rows.read_end * stride, cols.read_start * stride : cols.read_end * stride]
                if pixels.dtype == np.uint8:
                    pixels = pixels.astype(np.float32) / 255.0
                tile = latent[:, rows.read_start : rows.read_end, cols.read_start : cols.read_end]
                with torch.random.fork_rng():
                    torch.manual_seed(tile_index)
                    result = self._refine_tile(pixels, tile, t, steps)
                refined[:, rows.keep_start : rows.keep_end, cols.keep_start : cols.keep_end] = result[:, rows.kept(), cols.kept()]
                tile_index += 1
        return refined

    def _refine_tile(self, pixels: np.ndarray, latent: np.ndarray, t: float, steps: int) -> np.ndarray:
        """Adam on one tile's gained latent; returns the best latent seen, de-gained, as numpy.

        The gradient comes from the training proxy, which is noisy; "best" is judged by the
        loss of the rounded symbols (what the file will cost), computed in the same pass. The
        starting latent is among the candidates, so refinement never codes worse than g_a's
        latent by the model's own measure.
        """
        image = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32))[None]
        rate_parameter = torch.tensor([t], dtype=torch.float32)
        lmbda = torch.tensor([self.trade_off(t)], dtype=torch.float32)
        with torch.no_grad():
            gain = self.model.gain.gain(rate_parameter)
        gained = (torch.from_numpy(np.ascontiguousarray(latent))[None] * gain).requires_grad_(True)
        peak_rate = STEP_BUDGET / steps
        optimizer = torch.optim.Adam([gained], lr=peak_rate)
        best_loss, best = math.inf, gained.detach().clone()
        for step in range(steps + 1):  # the last pass only scores the last step's latent
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
                out = self.model.forward_latent(gained, rate_parameter, exact_rate=True)
            exact = {"x_hat": out["x_hat"].detach(), "y": out["y_exact"].detach(), "z": out["z_exact"].detach()}
            exact_loss = rate_distortion(exact, image, lmbda)[0].item()
            if exact_loss < best_loss:
                best_loss, best = exact_loss, gained.detach().clone()
            if step == steps:
                break
            for group in optimizer.param_groups:
                group["lr"] = peak_rate * 0.5 * (1 + math.cos(math.pi * step / steps))
            loss, _, _ = rate_distortion(out, image, lmbda)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return (best / gain)[0].numpy()
