"""The shared backbone's tensors inside a codec weights file, and their fingerprint.

A head is only valid on the exact g_a tensors it was trained on. Its weights file records
the sha256 of those tensors (computed here, without torch); loading a head beside a codec
whose g_a hashes differently raises :class:`~aecodec.errors.WeightsMismatchError`.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

BACKBONE_PREFIX = "float.g_a."
STAGES_PREFIX = BACKBONE_PREFIX + "stages."


def backbone_arrays(codec_arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """g_a's stage parameters from a codec weights file, keyed by their name inside g_a.

    A codec's detail branch (``g_a.detail``) is not part of the backbone: heads never read it.
    """
    return {key[len(BACKBONE_PREFIX) :]: value for key, value in codec_arrays.items() if key.startswith(STAGES_PREFIX)}


def backbone_sha256(codec_arrays: dict[str, np.ndarray]) -> str:
    """Hex sha256 over g_a's stage tensor names, shapes and float32 bytes, in name order."""
    digest = hashlib.sha256()
    for name, value in sorted(backbone_arrays(codec_arrays).items()):
        value = np.ascontiguousarray(value, dtype="<f4")
        digest.update(json.dumps([name, list(value.shape)]).encode())
        digest.update(value.tobytes())
    return digest.hexdigest()
