"""Load a shipped restoration head, checked against the backbone it was trained on.

A head's weights file stores only the head. Its metadata records the sha256 of the g_a
tensors it was trained on (and the codec they came from). The head runs on whichever installed
codec has exactly those tensors, the default codec first: every codec since hyperprior-v4 keeps
the same g_a stages, so a head outlives the codec it was trained beside. With no such codec
the head is refused (``WeightsMismatchError``), because a head decodes features of one exact
backbone and would silently produce garbage on another.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np

from aecodec import zoo
from aecodec.codecs.registry import BACKENDS, read_meta, torch_missing
from aecodec.errors import InputError, WeightsMismatchError
from aecodec.heads.backbone import backbone_sha256
from aecodec.heads.config import HEAD_ARCHITECTURE, HeadConfig


@dataclass(frozen=True)
class LoadedHead:
    """A head ready to run.

    Attributes:
        head_id: Its id in the manifest.
        config: Architecture and task.
        temperature: Annealed-mean temperature of the colorize head (chosen on validation
            photos at release).
        network: (3, H, W) image in [0, 1] and σ / NOISE_SCALE (or None) → head output.
        backend: "torch" or "onnx".
    """

    head_id: str
    config: HeadConfig
    temperature: float
    network: Callable[[np.ndarray, float | None], np.ndarray]
    backend: str


def verified_backbone(meta: dict) -> tuple[str, dict, dict[str, np.ndarray]]:
    """The installed codec whose g_a is the backbone a head's metadata records: id, config, arrays.

    Raises:
        WeightsMismatchError: No installed codec has the g_a tensors the head was trained on.
    """
    wanted = meta["backbone"]["sha256"]
    for entry in zoo.models():
        codec_arrays = zoo.load_arrays(entry.model_id)
        if backbone_sha256(codec_arrays) == wanted:
            return entry.model_id, read_meta(codec_arrays)["config"], codec_arrays
    raise WeightsMismatchError(
        f"head was trained on backbone {wanted[:16]}… (the g_a of {meta['backbone']['model']}); no installed codec has that g_a"
    )


def backbone_codec(head_id: str) -> str | None:
    """Id of the installed codec whose g_a the head runs on (as :func:`load_head` picks it), or
    None when no installed codec has the g_a it was trained on.

    Raises:
        WeightsMismatchError: The head's weights file is missing or does not match the manifest.
    """
    meta = read_meta(zoo.load_arrays(head_id))
    try:
        return verified_backbone(meta)[0]
    except WeightsMismatchError:
        return None


def _onnx_current(head_id: str, backbone_id: str) -> bool:
    from aecodec.runtime import onnx_backend, onnx_files

    return (
        onnx_backend.available()
        and onnx_files.staleness(head_id, graphs=(onnx_files.HEAD,)) is None
        and onnx_files.staleness(backbone_id, graphs=(onnx_files.ANALYSIS,)) is None
    )


@lru_cache(maxsize=4)
def load_head(task: str, backend: str = "auto") -> LoadedHead:
    """The default head for ``task``, on ``backend`` ("auto" prefers current onnx graphs).

    Cached per process, like :func:`aecodec.zoo.load_codec`: a folder run restores every
    file with the same head, and building it (sessions, weights) costs more than a small photo.

    Raises:
        WeightsMismatchError: No head for the task, a bad weights file, or a backbone mismatch.
        InputError: Unknown backend, or the torch backend without torch.
    """
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    head_id = zoo.default_head_id(task)
    arrays = zoo.load_arrays(head_id)
    meta = read_meta(arrays)
    if meta.get("architecture") != HEAD_ARCHITECTURE:
        raise WeightsMismatchError(f"{head_id} is not a restoration head")
    config = HeadConfig(**meta["config"])
    backbone_id, codec_config, codec_arrays = verified_backbone(meta)
    if backend == "auto":
        backend = "onnx" if _onnx_current(head_id, backbone_id) else "torch"
    if backend == "onnx":
        from aecodec.runtime.onnx_backend import OnnxHead

        network = OnnxHead(head_id, backbone_id)
    else:
        try:
            from aecodec.runtime.torch_backend import TorchHead
        except ImportError as exc:
            raise torch_missing(exc) from exc
        network = TorchHead(config, codec_config, codec_arrays, arrays)
    return LoadedHead(head_id, config, float(meta.get("temperature", 1.0)), network, backend)
