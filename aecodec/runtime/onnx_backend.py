"""Networks run by onnxruntime, without torch: the codec's transforms (g_a, h_a, g_s), its exact integer networks, and the heads.

The graphs are those ``aecodec export`` writes (laid out as :mod:`aecodec.runtime.onnx_files` names them).
The three rate-free float ones make this backend a drop-in for
:class:`aecodec.runtime.torch_backend.TorchTransforms`: both compute the same float
transforms, they differ only in float rounding, and that never reaches the exact integer
path that selects probability tables (:mod:`aecodec.codecs.frozen`). That path runs here
too, from hyper_decoder.onnx and context.onnx, which compute the very integers of the numpy
networks (:class:`OnnxHyperSynthesis`, :class:`OnnxCheckerboardContext`).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path

import numpy as np

from aecodec.codecs.registry import StoredIntegerNetworks
from aecodec.entropy.integer_hyper import check_exact_range
from aecodec.errors import InputError
from aecodec.runtime import onnx_files

THREADS_VARIABLE = "AECODEC_ONNX_THREADS"


def available() -> bool:
    """Whether onnxruntime is installed (checked without importing it)."""
    return importlib.util.find_spec("onnxruntime") is not None


def environment_threads() -> int | None:
    """Intra-op threads set by ``AECODEC_ONNX_THREADS``, or None when it is unset.

    Codecs are built by :mod:`aecodec.assembly`, which takes no thread count, so the environment
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


def inference_session(path: Path, threads: int | None = None, arena: bool = True):
    """An onnxruntime CPU session for one graph file.

    Args:
        path: The ``.onnx`` file.
        threads: Intra-op threads; None takes ``AECODEC_ONNX_THREADS``, and when that is
            unset too, onnxruntime uses every physical core.
        arena: Whether the session keeps its buffers in onnxruntime's memory arena, which
            never shrinks. The integer networks' float64 im2col buffers are large and come
            in many shapes, so their sessions go without it (see :class:`OnnxTransforms`).
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or environment_threads() or 0
    options.inter_op_num_threads = 1  # the graphs are chains: nothing runs in parallel
    # Tiles come in a few shapes: memory patterns (planned per input shape) would keep one
    # plan per shape, while the arena, which makes the synthesis faster than plain
    # allocation, stays bounded by the largest tile (benchmarks/DECISIONS.md, "Runtime: onnxruntime by default").
    options.enable_mem_pattern = False
    options.enable_cpu_mem_arena = arena
    # Between runs the codec computes in numpy (rounding, gains, range coding); spinning idle
    # threads would take those cores from it (benchmarks/DECISIONS.md, "Runtime: onnxruntime by default").
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only; warnings would leak into CLI output
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class LazySession:
    """An onnxruntime session for one graph file, created when it first runs, and once.

    A command runs only some of a model's graphs (decoding never runs the analysis, encoding
    the synthesis only for a PSNR target), and creating a session reads and optimizes its
    whole graph, so a codec holds one of these per graph and only those that run are ever
    created. It stands in for the session where the backend uses one (``run``,
    ``get_inputs``); creation is thread-safe. The folder was checked when the codec was
    loaded, so a graph that onnxruntime cannot read fails on its first run instead.

    Args:
        path, threads, arena: As for :func:`inference_session`.
    """

    def __init__(self, path: Path, threads: int | None = None, arena: bool = True) -> None:
        self.path = path
        self._threads, self._arena = threads, arena
        self._session = None
        self._lock = threading.Lock()

    @property
    def created(self) -> bool:
        """Whether the session exists yet (it has run, or been asked for its inputs)."""
        return self._session is not None

    def session(self):
        """The onnxruntime session, created on the first call."""
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._session = inference_session(self.path, self._threads, self._arena)
        return self._session

    def run(self, output_names, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        """``InferenceSession.run``."""
        return self.session().run(output_names, feed)

    def get_inputs(self):
        """``InferenceSession.get_inputs``."""
        return self.session().get_inputs()


def backbone_features(session, image: np.ndarray, names: tuple[str, ...] = (onnx_files.BACKBONE_OUTPUTS[-1],)) -> list[np.ndarray]:
    """Outputs ``names`` of the backbone graph (analysis.onnx) for one (3, H, W) image, each (1, C, h, w)."""
    return session.run(list(names), {"image": np.ascontiguousarray(image, dtype=np.float32)[None]})


def _run(session, feed: np.ndarray) -> np.ndarray:
    """Run a one-input, one-output graph on one (C, H, W) array; returns (C', H', W')."""
    (name,) = (node.name for node in session.get_inputs())
    (output,) = session.run(None, {name: np.ascontiguousarray(feed, dtype=np.float32)[None]})
    return output[0]


class OnnxHyperSynthesis:
    """The exact integer h_s run by hyper_decoder.onnx: the integers of
    :class:`~aecodec.entropy.integer_hyper.IntegerHyperSynthesis`, as fast, in onnxruntime.

    Why not numpy: its OpenBLAS leaves its threads spinning for up to 2^28 cycles after every
    matrix product, on the two cores the next onnxruntime run (the synthesis, the next
    image's analysis) needs, whose own threads sleep between runs (:func:`inference_session`).

    Args:
        session: hyper_decoder.onnx's session.
        input_max: Largest |ẑ| the network is exact for (the numpy network's).
    """

    def __init__(self, session, input_max: int) -> None:
        self._session = session
        self.input_max = input_max

    def __call__(self, z_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and log-scale (int64, units of 2^-8), each (M, 4h, 4w), of ẑ (C, h, w)."""
        check_exact_range(z_hat, self.input_max)
        mean, log_scale = self._session.run(None, {"quantized_hyper_latent": np.ascontiguousarray(z_hat, dtype=np.int64)[None]})
        return mean[0], log_scale[0]


class OnnxCheckerboardContext:
    """The exact integer context model run by context.onnx: the integers of
    :class:`~aecodec.entropy.integer_context.IntegerCheckerboardContext`, without numpy's
    spinning BLAS threads (see :class:`OnnxHyperSynthesis`).

    Args:
        session: context.onnx's session.
        input_max: Clip of its inputs in real units (the numpy network's).
    """

    def __init__(self, session, input_max: float) -> None:
        self._session = session
        self.input_max = input_max

    def refine(self, y_hat: np.ndarray, mean: np.ndarray, log_scale: np.ndarray, rows: slice) -> tuple[np.ndarray, np.ndarray]:
        """Same contract as :meth:`IntegerCheckerboardContext.refine`.

        The graph refines every non-anchor of the window it is given; an element's Δμ and
        Δlog σ read the anchors around it and only its own μ and log σ, so the rows outside
        ``rows`` get zeros there and their outputs are dropped.
        """
        window_mean, window_log_scale = np.zeros(y_hat.shape, dtype=np.int64), np.zeros(y_hat.shape, dtype=np.int64)
        window_mean[:, rows], window_log_scale[:, rows] = mean, log_scale
        feed = {"anchors": y_hat.astype(np.int64)[None], "mean": window_mean[None], "log_scale": window_log_scale[None]}
        refined_mean, refined_log_scale = self._session.run(None, feed)
        return refined_mean[0][:, rows].astype(np.float64), refined_log_scale[0][:, rows]


class OnnxTransforms:
    """The networks of one exported model, run by onnxruntime on the CPU: the float
    transforms, and (:meth:`integer_networks`) the exact integer ones.

    The folder is trusted as given: whoever picks it checks first that it was exported from
    the installed weights (:func:`aecodec.runtime.onnx_files.staleness`, which
    :mod:`aecodec.assembly` runs once per load). Each graph's session is created when the
    graph first runs (:class:`LazySession`), so a decoder never creates the analysis's.

    Args:
        folder: The model's graph folder.
        threads: Intra-op threads per session; None takes ``AECODEC_ONNX_THREADS``, else
            every physical core.
        context: Whether the model has a context model (and so a context.onnx).
    """

    name = "onnx"

    def __init__(self, folder: Path, threads: int | None = None, context: bool = False) -> None:
        graphs = onnx_files.codec_graphs(context)
        self.folder = folder
        # h_a runs once over the whole latent, not in tiles: an arena would keep its
        # activations, the size of several latents, for the rest of the process.
        without_arena = (onnx_files.HYPER_DECODER, onnx_files.CONTEXT, onnx_files.HYPER_ANALYSIS)
        self._sessions = {graph: LazySession(folder / graph, threads, arena=graph not in without_arena) for graph in graphs}
        self._analysis, self._hyper_analysis, self._synthesis = (
            self._sessions[graph] for graph in (onnx_files.ANALYSIS, onnx_files.HYPER_ANALYSIS, onnx_files.SYNTHESIS)
        )
        self._hyper_decoder, self._context = self._sessions[onnx_files.HYPER_DECODER], self._sessions.get(onnx_files.CONTEXT)

    @property
    def created_sessions(self) -> frozenset[str]:
        """The graphs whose sessions exist so far: those that have run (see :class:`LazySession`)."""
        return frozenset(graph for graph, session in self._sessions.items() if session.created)

    def integer_networks(self, stored: StoredIntegerNetworks) -> tuple[OnnxHyperSynthesis, OnnxCheckerboardContext | None]:
        """The numpy integer networks' onnxruntime twins, with their exactness bounds; the
        numpy networks' weights are never read (the graphs hold them)."""
        onnx_context = OnnxCheckerboardContext(self._context, stored.context_input_max) if stored.context else None
        return OnnxHyperSynthesis(self._hyper_decoder, stored.hyper_input_max), onnx_context

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

    Both folders are trusted as given, as for :class:`OnnxTransforms`.

    Args:
        head_folder: The head's graph folder (head.onnx).
        backbone_folder: Graph folder of the codec whose analysis.onnx is the backbone.
        threads: Intra-op threads per session, as for :class:`OnnxTransforms`.
    """

    name = "onnx"

    def __init__(self, head_folder: Path, backbone_folder: Path, threads: int | None = None) -> None:
        self._backbone = LazySession(backbone_folder / onnx_files.ANALYSIS, threads)
        self._session = LazySession(head_folder / onnx_files.HEAD, threads)

    def __call__(self, image: np.ndarray, noise_level: float | None) -> np.ndarray:
        """Head output for one (3, H, W) image in [0, 1]; see :class:`TorchHead`."""
        features = backbone_features(self._backbone, image, onnx_files.BACKBONE_OUTPUTS)
        feed = {"image": np.ascontiguousarray(image, dtype=np.float32)[None], **dict(zip(onnx_files.BACKBONE_OUTPUTS, features))}
        if "noise_level" in (node.name for node in self._session.get_inputs()):
            feed["noise_level"] = np.full((1, 1, 1, 1), noise_level, dtype=np.float32)
        (output,) = self._session.run(None, feed)
        return output[0]
