"""Degradations synthesized on the fly for the denoise head, and gray inputs for colorize.

One blind model must handle what users' photos carry: additive Gaussian noise (σ 0–50, the
benchmark protocol: added to the float image, not clipped), camera-like Poisson–Gaussian
noise whose variance grows with brightness, JPEG compression at quality 10–95 (Pillow,
4:2:0), and noise followed by JPEG, as a phone produces.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from aecodec.heads.chroma import luminance_u8
from aecodec.heads.config import SIGMA_MAX
from aecodec.heads.noise import estimate_sigma
from aecodec.imageio import to_u8


def jpeg(image_u8: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip an (H, W, 3) uint8 image through Pillow's JPEG at ``quality`` (4:2:0)."""
    buffer = io.BytesIO()
    Image.fromarray(image_u8).save(buffer, format="JPEG", quality=int(quality), subsampling="4:2:0")
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"))


def degrade(clean: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """One random degradation of a clean crop.

    Args:
        clean: (H, W, 3) uint8 crop.
        rng: Random generator of the sampler.

    Returns:
        ``(degraded, sigma)``: the degraded crop as float32 on the 0–255 scale and the
        true standard deviation of the noise that was added (0 for JPEG alone), 0–255 scale.
    """
    x = clean.astype(np.float32)
    kind = rng.random()
    if kind < 0.45:
        sigma = float(rng.uniform(0, SIGMA_MAX))
        noisy = x + rng.normal(0, sigma, x.shape).astype(np.float32)
    elif kind < 0.7:
        gain = rng.uniform(0.0, 0.03)
        read = rng.uniform(0.0, 0.06)
        variance = gain * x / 255 + read**2
        noisy = x + 255 * np.sqrt(variance) * rng.standard_normal(x.shape).astype(np.float32)
        sigma = float(255 * np.sqrt(variance.mean()))
    else:
        sigma, noisy = 0.0, x
    compressed = sigma == 0.0 or rng.random() < 0.4
    if compressed:
        noisy = jpeg(to_u8(noisy), int(rng.integers(10, 96))).astype(np.float32)
    elif rng.random() < 0.5:
        noisy = to_u8(noisy).astype(np.float32)
    return noisy, sigma


def noise_level_input(degraded: np.ndarray, sigma: float, rng: np.random.Generator) -> float:
    """The σ fed to the head: the true σ half the time, the blind estimate otherwise.

    Training on both teaches the head to use a user's ``--sigma`` and to tolerate the
    estimator's error when none is given.
    """
    return sigma if rng.random() < 0.5 else estimate_sigma(degraded)


def gray(clean: np.ndarray) -> np.ndarray:
    """Pillow's 8-bit luminance of an (H, W, 3) uint8 crop, as a 3-channel float image in [0, 1]."""
    luminance = luminance_u8(clean).astype(np.float32) / 255
    return np.repeat(luminance[..., None], 3, axis=-1)
