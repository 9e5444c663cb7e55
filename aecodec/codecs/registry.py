"""The one registry: architecture names → how to build a codec from a weights file.

Model *ids* and their weights files are listed in ``weights/MANIFEST.json`` (read by
:mod:`aecodec.zoo`); this module maps the architecture each entry declares to a builder,
so containers name a model by a stable string id, never by a positional index.
"""

from __future__ import annotations

import json
from typing import Callable

import numpy as np

from aecodec.codecs.config import HyperpriorConfig
from aecodec.codecs.frozen import FrozenHyperprior
from aecodec.entropy.integer_context import IntegerCheckerboardContext
from aecodec.entropy.integer_hyper import IntegerHyperSynthesis
from aecodec.entropy.tables import PMFTables
from aecodec.errors import InputError, WeightsMismatchError

ARCHITECTURE = "mean-scale-hyperprior-vr"
BACKENDS = ("torch", "onnx", "auto")


def read_meta(arrays: dict[str, np.ndarray]) -> dict:
    """The JSON metadata (architecture and config) stored in a weights file."""
    return json.loads(bytes(np.asarray(arrays["meta.json"], dtype=np.uint8)).decode())


def torch_missing(exc: ImportError) -> InputError:
    """The error for asking for the torch backend in an install without torch."""
    return InputError(f"the torch backend needs torch ({exc}); install aecodec[train] or use --backend onnx")


def _torch_transforms(config: dict, arrays: dict[str, np.ndarray]):
    try:
        from aecodec.runtime.torch_backend import TorchTransforms
    except ImportError as exc:
        raise torch_missing(exc) from exc

    return TorchTransforms(HyperpriorConfig(**config), arrays)


def build_refiner(arrays: dict[str, np.ndarray], lambda_min: float, lambda_max: float):
    """The encoder-side :class:`~aecodec.codecs.refine.LatentRefiner` of a codec's weights.

    Raises:
        InputError: torch is not installed (refinement needs its gradients).
    """
    try:
        from aecodec.codecs.refine import LatentRefiner
    except ImportError as exc:
        raise InputError(f"refinement needs torch for its gradients ({exc}); install aecodec[train]") from exc
    return LatentRefiner(_torch_transforms(read_meta(arrays)["config"], arrays).model, lambda_min, lambda_max)


def _onnx_graphs_current(model_id: str | None, context: bool) -> bool:
    """Whether onnxruntime is installed and ``model_id``'s exported graphs match its weights."""
    from aecodec.runtime import onnx_backend, onnx_files

    if model_id is None or not onnx_backend.available():
        return False
    return onnx_files.staleness(model_id, graphs=onnx_files.codec_graphs(context)) is None


def _transforms(config: dict, arrays: dict[str, np.ndarray], backend: str, model_id: str | None):
    """The float transforms of ``backend``; "auto" is onnx when its graphs are current, else torch.

    Either backend decodes every file the other wrote: they differ only in float rounding of
    the pixels, never in the integer path that selects probability tables.
    """
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    context = bool(config.get("context_channels"))
    if backend == "auto":
        backend = "onnx" if _onnx_graphs_current(model_id, context) else "torch"
    if backend == "torch":
        return _torch_transforms(config, arrays)
    if model_id is None:
        raise WeightsMismatchError("the onnx backend needs the model id to find its graphs")
    from aecodec.runtime.onnx_backend import OnnxTransforms

    return OnnxTransforms(model_id, context=context)


def _build_hyperprior(config: dict, arrays: dict[str, np.ndarray], backend: str, model_id: str | None) -> FrozenHyperprior:
    architecture = HyperpriorConfig(**config)
    transforms = _transforms(config, arrays, backend, model_id)
    hyper = IntegerHyperSynthesis.from_arrays(arrays, "h_s_int")
    context = IntegerCheckerboardContext.from_arrays(arrays, "context_int") if architecture.context_channels else None
    if transforms.name == "onnx":  # the same integers, without numpy's spinning BLAS threads
        hyper, context = transforms.integer_networks(hyper, context)
    return FrozenHyperprior(
        transforms=transforms,
        hyper=hyper,
        z_tables=PMFTables.from_arrays(arrays, "z_tables"),
        y_tables=PMFTables.from_arrays(arrays, "y_tables"),
        knots=architecture.knots,
        lowest_rate_parameter=architecture.lowest_rate_parameter,
        highest_rate_parameter=architecture.top_rate_parameter,
        log_gain=np.asarray(arrays["float.gain.log_gain"], dtype=np.float32),
        log_inverse_gain=np.asarray(arrays["float.gain.log_inverse_gain"], dtype=np.float32),
        hyper_channels=architecture.hyper_channels,
        context=context,
    )


BUILDERS: dict[str, Callable[[dict, dict[str, np.ndarray], str, str | None], FrozenHyperprior]] = {
    ARCHITECTURE: _build_hyperprior,
}


def build(arrays: dict[str, np.ndarray], backend: str = "auto", model_id: str | None = None) -> FrozenHyperprior:
    """Build the codec a weights file describes.

    Args:
        arrays: The (verified) arrays of the weights file.
        backend: "torch", "onnx" or "auto" (onnx when onnxruntime is installed and the
            model's exported graphs are current, else torch).
        model_id: Id of the weights in the manifest; the onnx backend finds its graphs by it.

    Raises:
        WeightsMismatchError: Unknown architecture, or onnx graphs missing or stale.
        InputError: Unknown backend name.
    """
    meta = read_meta(arrays)
    try:
        builder = BUILDERS[meta["architecture"]]
    except KeyError as exc:
        raise WeightsMismatchError(f"unknown architecture {meta.get('architecture')!r}") from exc
    return builder(meta["config"], arrays, backend, model_id)
