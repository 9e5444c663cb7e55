"""Random training crops from a folder of photos, held in memory.

Decoding 1,000+ WebP files every epoch would cost as much CPU as a small model's training
step, so every photo is decoded once into RAM and crops are cut from the arrays. Each crop
is taken at a random downscale (to wash out the sources' faint JPEG artifacts and sensor
noise) and randomly flipped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

PHOTO_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp"}


def list_photos(folder: str | Path) -> list[Path]:
    """Image files below ``folder``, sorted so runs are reproducible."""
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES)


def load_rgb(path: str | Path) -> np.ndarray:
    """Decode a photo to an (H, W, 3) uint8 array."""
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


class CropSampler:
    """Draws batches of augmented square crops.

    Args:
        folder: Folder of training photos.
        crop: Side of the square crops.
        min_downscale: Lowest random scale factor applied before cropping.
        seed: Seed of the sampler's own random generator.
    """

    def __init__(self, folder: str | Path, crop: int, min_downscale: float, seed: int) -> None:
        self.photos = [load_rgb(p) for p in list_photos(folder)]
        if not self.photos:
            raise FileNotFoundError(f"no photos in {folder}")
        self.crop = crop
        self.min_downscale = min_downscale
        self.rng = np.random.default_rng(seed)

    def _one(self) -> np.ndarray:
        photo = self.photos[self.rng.integers(len(self.photos))]
        height, width = photo.shape[:2]
        largest_scale = min(1.0, min(height, width) / self.crop)
        scale = self.rng.uniform(min(self.min_downscale, largest_scale), largest_scale)
        region = min(int(np.ceil(self.crop / scale)), height, width)
        top = self.rng.integers(height - region + 1)
        left = self.rng.integers(width - region + 1)
        patch = photo[top : top + region, left : left + region]
        if region != self.crop:
            patch = np.asarray(Image.fromarray(patch).resize((self.crop, self.crop), Image.BICUBIC))
        if self.rng.random() < 0.5:
            patch = patch[:, ::-1]
        return patch

    def crops(self, size: int) -> np.ndarray:
        """A (size, crop, crop, 3) uint8 batch, for callers that degrade crops before use."""
        return np.stack([self._one() for _ in range(size)])

    def batch(self, size: int) -> np.ndarray:
        """A (size, 3, crop, crop) float32 batch in [0, 1]."""
        return self.crops(size).transpose(0, 3, 1, 2).astype(np.float32) / 255.0
