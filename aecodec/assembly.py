"""Loading: a model id → a ready codec or restoration head, on the runtime picked once.

This is the one layer that sees everything a load needs: the zoo (where a model's weights
and graphs are, verified), the codecs and heads (what the arrays mean) and the runtimes
(what runs the networks). Below it a codec is arithmetic over arrays and a runtime is
handed arrays and folders; neither knows the other. A load reads the weights file once,
checks the ONNX graphs once, and picks the backend once, in :func:`_chosen_backend`, for
codecs and heads alike: ``"auto"`` is onnx when onnxruntime is installed and the graphs are
current, else torch. Either backend decodes every file the other wrote: they differ only in
the float rounding of pixels, never in the integer path that selects probability tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from aecodec import zoo
from aecodec.codecs import registry
from aecodec.codecs.config import HyperpriorConfig
from aecodec.codecs.frozen import FrozenHyperprior
from aecodec.errors import InputError, WeightsMismatchError
from aecodec.heads.backbone import backbone_sha256
from aecodec.heads.config import HEAD_ARCHITECTURE, HeadConfig
from aecodec.runtime import onnx_backend, onnx_files
from aecodec.weights_format import read_meta

BACKENDS = ("torch", "onnx", "auto")
HEAD_COMMANDS = {"denoise": "aecodec restore", "colorize": "aecodec colorize"}
"""The command that runs the head of each restoration task."""


def torch_missing(exc: ImportError) -> InputError:
    """The error for asking for the torch backend in an install without torch."""
    return InputError(f"the torch backend needs torch ({exc}); install aecodec[train] or use --backend onnx")


def onnx_staleness(model_id: str, folder: Path | None = None, graphs: tuple[str, ...] | None = None) -> str | None:
    """Why ``folder`` (default the model's own, :func:`aecodec.zoo.onnx_dir`) cannot stand in
    for the installed weights of ``model_id``, or None; see :func:`aecodec.runtime.onnx_files.staleness`.

    Raises:
        WeightsMismatchError: The model is not installed.
    """
    return onnx_files.staleness(folder or zoo.onnx_dir(model_id), model_id, zoo.entry(model_id).sha256, graphs)


def _chosen_backend(backend: str, graphs: dict[str, tuple[str, ...]] | None) -> str:
    """``"torch"`` or ``"onnx"`` for a model whose onnx backend runs ``graphs`` (model id →
    the graphs it needs of that model's folder; None when the weights have no model id, and
    so no graphs). The folders are checked here, once per load; the runtimes trust them.

    Raises:
        InputError: Unknown backend name.
        WeightsMismatchError: ``"onnx"`` asked for, with graphs missing or stale.
    """
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if graphs is None:
        if backend == "onnx":
            raise WeightsMismatchError("the onnx backend needs the model id to find its graphs")
        return "torch"
    if backend == "torch" or (backend == "auto" and not onnx_backend.available()):
        return "torch"
    for model_id, needed in graphs.items():
        problem = onnx_staleness(model_id, graphs=needed)
        if problem:
            if backend == "auto":
                return "torch"
            raise WeightsMismatchError(f"{problem}; run `aecodec export --model {model_id}` to (re)create them")
    return "onnx"


def _torch_transforms(config: dict, arrays: dict[str, np.ndarray]):
    try:
        from aecodec.runtime.torch_backend import TorchTransforms
    except ImportError as exc:
        raise torch_missing(exc) from exc
    return TorchTransforms(HyperpriorConfig(**config), arrays)


def build_codec(arrays: dict[str, np.ndarray], backend: str = "auto", model_id: str | None = None) -> FrozenHyperprior:
    """Build the codec a weights file describes.

    Args:
        arrays: The (verified) arrays of the weights file.
        backend: "torch", "onnx" or "auto" (onnx when onnxruntime is installed and the
            model's exported graphs are current, else torch).
        model_id: Id of the weights in the manifest; the onnx backend finds its graphs by it.

    Raises:
        WeightsMismatchError: Unknown architecture, or onnx graphs missing or stale.
        InputError: Unknown backend name, or the torch backend without torch.
    """
    meta = read_meta(arrays)
    build = registry.builder(meta.get("architecture"))
    config = meta["config"]
    context = bool(config.get("context_channels"))
    graphs = None if model_id is None else {model_id: onnx_files.codec_graphs(context)}
    if _chosen_backend(backend, graphs) == "onnx":
        transforms = onnx_backend.OnnxTransforms(zoo.onnx_dir(model_id), context=context)
    else:
        transforms = _torch_transforms(config, arrays)
    return build(config, arrays, transforms)


@lru_cache(maxsize=4)
def load_codec(model_id: str, backend: str = "auto") -> FrozenHyperprior:
    """The ready codec for ``model_id`` (cached per process).

    Raises:
        InputError: ``model_id`` is a restoration head (the message names its command).
        WeightsMismatchError: As :func:`aecodec.zoo.entry` and :func:`aecodec.zoo.load_arrays`.
    """
    task = zoo.entry(model_id).task
    if task:
        raise InputError(f"{model_id} is a {task} restoration head, not a codec: `{HEAD_COMMANDS[task]}` uses it; `aecodec models` lists the codecs")
    return build_codec(zoo.load_arrays(model_id), backend, model_id)


def codec_for(model_id: str, sha256_prefix: bytes, backend: str = "auto") -> FrozenHyperprior:
    """The codec a container names, refusing it if the installed weights differ."""
    found = zoo.entry(model_id)
    if found.sha256_prefix != sha256_prefix:
        raise WeightsMismatchError(
            f"file was coded with {model_id} weights {sha256_prefix.hex()}, installed are {found.sha256_prefix.hex()}"
        )
    return load_codec(model_id, backend)


@lru_cache(maxsize=2)
def load_refiner(model_id: str):
    """The encoder-side :class:`~aecodec.codecs.refine.LatentRefiner` of ``model_id`` (cached
    per process), at the trade-offs the codec was trained for.

    Raises:
        InputError: torch is not installed (refinement needs its gradients).
        WeightsMismatchError: As :func:`aecodec.zoo.load_arrays` and :func:`aecodec.zoo.trade_off_range`.
    """
    try:
        from aecodec.codecs.refine import LatentRefiner
    except ImportError as exc:
        raise InputError(f"refinement needs torch for its gradients ({exc}); install aecodec[train]") from exc
    arrays = zoo.load_arrays(model_id)
    return LatentRefiner(_torch_transforms(read_meta(arrays)["config"], arrays).model, *zoo.trade_off_range(model_id))


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

    A head's weights file stores only the head; its metadata records the sha256 of the g_a
    tensors it was trained on. The head runs on whichever installed codec has exactly those
    tensors, the default codec first, so a head outlives the codec it was trained beside.

    Raises:
        WeightsMismatchError: No installed codec has the g_a tensors the head was trained on
            (a head decodes features of one exact backbone and would silently produce
            garbage on another).
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


@lru_cache(maxsize=4)
def load_head(task: str, backend: str = "auto") -> LoadedHead:
    """The default head for ``task``, on ``backend`` ("auto" prefers current onnx graphs).

    Cached per process, like :func:`load_codec`: a folder run restores every file with the
    same head, and building it (sessions, weights) costs more than a small photo.

    Raises:
        WeightsMismatchError: No head for the task, a bad weights file, or a backbone mismatch.
        InputError: Unknown backend, or the torch backend without torch.
    """
    head_id = zoo.default_head_id(task)
    arrays = zoo.load_arrays(head_id)
    meta = read_meta(arrays)
    if meta.get("architecture") != HEAD_ARCHITECTURE:
        raise WeightsMismatchError(f"{head_id} is not a restoration head")
    config = HeadConfig(**meta["config"])
    backbone_id, codec_config, codec_arrays = verified_backbone(meta)
    backend = _chosen_backend(backend, {head_id: (onnx_files.HEAD,), backbone_id: (onnx_files.ANALYSIS,)})
    if backend == "onnx":  # the backbone is the codec's own analysis.onnx
        network = onnx_backend.OnnxHead(zoo.onnx_dir(head_id), zoo.onnx_dir(backbone_id))
    else:
        try:
            from aecodec.runtime.torch_backend import TorchHead
        except ImportError as exc:
            raise torch_missing(exc) from exc
        network = TorchHead(config, codec_config, codec_arrays, arrays)
    return LoadedHead(head_id, config, float(meta.get("temperature", 1.0)), network, backend)
