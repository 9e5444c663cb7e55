"""Prior correction of the colorize head: rare (saturated) colors get their fair share.

Most pixels of most photos are nearly neutral, so a classifier trained on chroma bins puts
its mass near gray and even its mode is a desaturated color; Zhang, Isola, Efros (2016)
reweight the training loss for that. The same effect is had after training by logit
adjustment (Menon et al. 2021, "Long-tail learning via logit adjustment"): subtract
``strength · log p̃(bin)`` from the logits, where p̃ is the bins' frequency in the training
data mixed with a uniform distribution (the mix bounds the boost of bins that are almost
never seen). It is a constant per bin, so it folds into the bias of the head's last
convolution and the shipped graph needs no extra step.
"""

from __future__ import annotations

import numpy as np

from aecodec.train.data import CropSampler

PRIOR_CROPS = 960
PRIOR_SEED = 123


def chroma_prior(train_dir: str, bins: int, extent: float, crop: int = 128, crops: int = PRIOR_CROPS, seed: int = PRIOR_SEED) -> np.ndarray:
    """Frequency of each chroma bin (soft-assigned, as in training) over random training crops."""
    from aecodec.train.head_loop import soft_chroma_targets

    sampler = CropSampler(train_dir, crop, 0.5, seed)
    counts = np.zeros(bins * bins)
    for _ in range(crops // 16):
        counts += soft_chroma_targets(sampler.crops(16), bins, extent).numpy().sum(axis=(0, 2, 3))
    return counts / counts.sum()


def bias_adjustment(prior: np.ndarray, strength: float, uniform_mix: float) -> np.ndarray:
    """What to add to the last layer's bias: ``−strength · log((1 − mix)·prior + mix / bins)``."""
    mixed = (1 - uniform_mix) * prior + uniform_mix / prior.size
    return (-strength * np.log(mixed)).astype(np.float32)
