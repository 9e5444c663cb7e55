"""Float networks run by onnxruntime, without torch: the codec's transforms (g_a, h_a, g_s) and the heads.

The graphs are those ``aecodec export`` writes (see :mod:`aecodec.runtime.onnx_export`);
this backend runs the three rate-free ones, so it is a drop-in for
:class:`aecodec.runtime.torch_backend.TorchTransforms`: both compute the same float
transforms, they differ only in float rounding, and that never reaches the exact integer
path that selects probability tables (:mod:`aecodec.codecs.frozen`).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from aecodec.errors import InputError, WeightsMismatchError
from aecodec.runtime import onnx_files

BACKEND_GRAPHS = (onnx_files.ANALYSIS, onnx_files.HYPER_ANALYSIS, onnx_files.SYNTHESIS)
THREADS_VARIABLE = "AECODEC_ONNX_THREADS"


def available() -> bool:
    """Whether onnxruntime is installed (checked without importing it)."""
    return importlib.util.find_spec("onnxruntime") is not None


def environment_threads() -> int | None:
    """Intra-op threads set by ``AECODEC_ONNX_THREADS``, or None when it is unset.

    Codecs are built through the registry, which takes no thread count, so the environment
    is how a process that shares its cores (a server, a benchmark) caps onnxruntime.

    Raises:
        InputError: The variable is set to anything but a positive integer.
    """
    value = os.environ.get(THREADS_VARIABLE, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise InputError(f"{THREADS_VARIABLE} must be a positive integer, got {value!r}")
    return int(value)


def inference_session(path: Path, threads: int | None = None):
    """An onnxruntime CPU session for one graph file.

    Args:
        path: The ``.onnx`` file.
        threads: Intra-op threads; None takes ``AECODEC_ONNX_THREADS``, and when that is
            unset too, onnxruntime uses every physical core.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or environment_threads() or 0
    options.inter_op_num_threads = 1  # the graphs are chains: nothing runs in parallel
    # Tiles come in a few shapes: memory patterns (planned per input shape) would keep one
    # plan per shape, while the arena, which makes the synthesis 2× faster than plain
    # allocation (measured), stays bounded by the largest tile.
    options.enable_mem_pattern = False
    # Between runs the codec computes in numpy (the integer h_s and context model, rounding,
    # range coding); spinning idle threads would take those cores from it. Measured on a
    # 481×321 photo (2 cores): compress 177 → 112 ms, decompress 175 → 130 ms.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only; warnings would leak into CLI output
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def backbone_features(session, image: np.ndarray, names: tuple[str, ...] = (onnx_files.BACKBONE_OUTPUTS[-1],)) -> list[np.ndarray]:
    """Outputs ``names`` of the backbone graph (analysis.onnx) for one (3, H, W) image, each (1, C, h, w)."""
    return session.run(list(names), {"image": np.ascontiguousarray(image, dtype=np.float32)[None]})


def _run(session, feed: np.ndarray) -> np.ndarray:
    """Run a one-input, one-output graph on one (C, H, W) array; returns (C', H', W')."""
    (name,) = (node.name for node in session.get_inputs())
    (output,) = session.run(None, {name: np.ascontiguousarray(feed, dtype=np.float32)[None]})
    return output[0]


class OnnxTransforms:
    """The float transforms of one exported model, run by onnxruntime on the CPU.

    Args:
        model_id: Model whose installed weights the graphs must have been exported from.
        folder: Graph folder; default ``weights/onnx/<model_id>``.
        threads: Intra-op threads per session; None takes ``AECODEC_ONNX_THREADS``, else
            every physical core.

    Raises:
        WeightsMismatchError: The graphs are missing, incomplete or exported from other
            weights; the message names the fix (``aecodec export``).
    """

    name = "onnx"

    def __init__(self, model_id: str, folder: Path | None = None, threads: int | None = None) -> None:
        folder = folder or onnx_files.onnx_dir(model_id)
        problem = onnx_files.staleness(model_id, folder, BACKEND_GRAPHS)
        if problem:
            raise WeightsMismatchError(f"{problem}; run `aecodec export --model {model_id}` to (re)create them")
        self.folder = folder
        self._analysis, self._hyper_analysis, self._synthesis = (inference_session(folder / graph, threads) for graph in BACKEND_GRAPHS)

    def analysis(self, x: np.ndarray) -> np.ndarray:
        """Latent y (M, H/16, W/16) of an image x (3, H, W) in [0, 1], H and W multiples of 16."""
        (latent,) = backbone_features(self._analysis, x)
        return latent[0]

    def hyper_analysis(self, y_gained: np.ndarray) -> np.ndarray:
        """Hyper-latent z (N, ⌈h/4⌉, ⌈w/4⌉) of a gained latent (M, h, w); the graph edge-pads y."""
        return _run(self._hyper_analysis, y_gained)

    def synthesis(self, y_hat: np.ndarray) -> np.ndarray:
        """Image (3, H, W), unclipped, from the dequantized, de-gained latent."""
        return _run(self._synthesis, y_hat)


class OnnxHead:
    """A restoration head run by onnxruntime: the codec's backbone graph, then the head's graph.

    Args:
        head_id: Head whose installed weights the graph must have been exported from.
        backbone_id: Codec whose analysis.onnx is the backbone.

    Raises:
        WeightsMismatchError: A graph is missing or exported from other weights.
    """

    name = "onnx"

    def __init__(self, head_id: str, backbone_id: str, threads: int | None = None) -> None:
        for model_id, graph in ((head_id, onnx_files.HEAD), (backbone_id, onnx_files.ANALYSIS)):
            problem = onnx_files.staleness(model_id, graphs=(graph,))
            if problem:
                raise WeightsMismatchError(f"{problem}; run `aecodec export --model {model_id}` to (re)create it")
        self._backbone = inference_session(onnx_files.onnx_dir(backbone_id) / onnx_files.ANALYSIS, threads)
        self._session = inference_session(onnx_files.onnx_dir(head_id) / onnx_files.HEAD, threads)
        self._inputs = [node.name for node in self._session.get_inputs()]

    def __call__(self, image: np.ndarray, noise_level: float | None) -> np.ndarray:
        """Head output for one (3, H, W) image in [0, 1]; see :class:`TorchHead`."""
        features = backbone_features(self._backbone, image, onnx_files.BACKBONE_OUTPUTS)
        feed = {"image": np.ascontiguousarray(image, dtype=np.float32)[None], **dict(zip(onnx_files.BACKBONE_OUTPUTS, features))}
        if "noise_level" in self._inputs:
            feed["noise_level"] = np.full((1, 1, 1, 1), noise_level, dtype=np.float32)
        (output,) = self._session.run(None, feed)
        return output[0]
