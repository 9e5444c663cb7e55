"""The exact integer networks (h_s and the checkerboard context model) as hand-built graphs.

ONNX Runtime has no float64 Conv, so the integer networks are written as im2col + float64
MatMul, which is exact for the same reason the numpy reference is: every product and partial
sum is an integer below 2^53. Their integer weights are stored in the smallest integer type
that holds them and cast to float64 inside the graph, which keeps the files small and the
arithmetic unchanged. Each graph is the bit-exact twin of its numpy network, so the onnx
backend gets the very integers that select the probability tables.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from aecodec.entropy.integer_context import CONTEXT_TAPS, IntegerCheckerboardContext
from aecodec.entropy.integer_hyper import ACTIVATION_FRACTION_BITS, WEIGHT_FRACTION_BITS, IntegerHyperSynthesis
from aecodec.onnx_build import IR_VERSION, OPSET

_INT64_MAX = np.iinfo(np.int64).max
# Offsets (row, col) of a 3×3 kernel in integer_hyper's im2col order: tap k at divmod(k, 3) − 1.
_SQUARE_TAPS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def _smallest_integers(values: np.ndarray) -> np.ndarray:
    """``values`` (integers held in float64) in the narrowest of int8, int16 and int32 that holds them all.

    Raises:
        ValueError: A value is not an integer or needs more than 32 bits.
    """
    if not np.array_equal(values, np.round(values)):
        raise ValueError("integer network parameter holds a non-integer value")
    low, high = values.min(initial=0), values.max(initial=0)
    for dtype in (np.int8, np.int16, np.int32):
        if np.iinfo(dtype).min <= low and high <= np.iinfo(dtype).max:
            return values.astype(dtype)
    raise ValueError("integer network parameter does not fit int32")


class _IntegerGraph:
    """Accumulates ONNX nodes and initializers of an exact integer network (h_s, the context model)."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def constant(self, value: np.ndarray) -> str:
        name = f"c{len(self.initializers)}"
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, *inputs: str, **attributes) -> str:
        name = f"{op_type.lower()}{len(self.nodes)}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [name], name=name, **attributes))
        return name

    def exact_integers(self, values: np.ndarray) -> str:
        """Integer-valued float64 weights as the smallest integer initializer, cast back to float64 in the graph."""
        return self.op("Cast", self.constant(_smallest_integers(values)), to=TensorProto.DOUBLE)

    def im2col(self, x: str, channels: int, taps: tuple[tuple[int, int], ...]) -> str:
        """Zero-padded patches of x (1, C, H, W), C = ``channels``, at the (row, col) offsets ``taps``, as (C·K, H·W).

        Row c·K + k holds channel c shifted by tap k: the layout of the integer networks'
        weight columns (``integer_hyper._conv3x3``, ``IntegerCheckerboardContext``).
        """
        reach = max(max(abs(dy), abs(dx)) for dy, dx in taps)
        padded = self.op("Pad", x, self.constant(np.array([0, 0, reach, reach, 0, 0, reach, reach], dtype=np.int64)))
        shifted = []
        for dy, dx in taps:
            starts = [reach + dy, reach + dx]
            ends = [start - 2 * reach if start < 2 * reach else _INT64_MAX for start in starts]
            tap = self.op("Slice", padded, self.constant(np.array(starts)), self.constant(np.array(ends)), self.constant(np.array([2, 3])))
            shifted.append(self.op("Unsqueeze", tap, self.constant(np.array([2]))))
        patches = self.op("Concat", *shifted, axis=2)  # (1, C, K, H, W)
        return self.op("Reshape", patches, self.constant(np.array([channels * len(taps), -1])))

    def affine(self, weight: np.ndarray, bias: np.ndarray, columns: str) -> str:
        """weight @ columns + bias: the exact accumulator of one layer, (O, P) for columns (I, P)."""
        return self.op("Add", self.op("MatMul", self.exact_integers(weight), columns), self.exact_integers(bias[:, None]))

    def to_image(self, flat: str, channels: int, like: str) -> str:
        """(channels, H·W) back to (1, channels, H, W), H and W those of the image ``like``."""
        shape = self.op("Concat", self.constant(np.array([1, channels])), self.op("Shape", like, start=2), axis=0)
        return self.op("Reshape", flat, shape)

    def conv(self, x: str, weight: np.ndarray, bias: np.ndarray, taps: tuple[tuple[int, int], ...]) -> str:
        """'Same' convolution of x (1, C, H, W) over ``taps`` with weight (O, C·K): im2col, then one MatMul."""
        columns = self.im2col(x, weight.shape[1] // len(taps), taps)
        return self.to_image(self.affine(weight, bias, columns), weight.shape[0], x)

    def rescale(self, accumulator: str) -> str:
        """floor((acc + 2^(W−1)) / 2^W): back to activation units, exactly as numpy does."""
        shifted = self.op("Add", accumulator, self.constant(np.float64(2 ** (WEIGHT_FRACTION_BITS - 1))))
        return self.op("Floor", self.op("Div", shifted, self.constant(np.float64(2**WEIGHT_FRACTION_BITS))))


def hyper_decoder_graph(network: IntegerHyperSynthesis, hyper_channels: int, latent_channels: int) -> onnx.ModelProto:
    """ONNX twin of :class:`IntegerHyperSynthesis`, bit-exact for |ẑ| ≤ ``input_max``."""
    graph = _IntegerGraph()
    x = graph.op("Cast", "quantized_hyper_latent", to=TensorProto.DOUBLE)
    x = graph.op("Mul", x, graph.constant(np.float64(2**ACTIVATION_FRACTION_BITS)))
    ceiling = graph.constant(np.float64(network.activation_max * 2**ACTIVATION_FRACTION_BITS))
    for weight, bias in zip(network.weights[:-1], network.biases[:-1], strict=True):
        hidden = graph.op("Clip", graph.rescale(graph.conv(x, weight, bias, _SQUARE_TAPS)), graph.constant(np.float64(0.0)), ceiling)
        x = graph.op("DepthToSpace", hidden, blocksize=2, mode="CRD")  # CRD is torch's pixel_shuffle
    out = graph.op("Cast", graph.rescale(graph.conv(x, network.weights[-1], network.biases[-1], _SQUARE_TAPS)), to=TensorProto.INT64)
    split = graph.constant(np.array([latent_channels, latent_channels]))
    graph.nodes.append(helper.make_node("Split", [out, split], ["mean", "log_scale"], axis=1))
    output_shape = [1, latent_channels, "latent_grid_height", "latent_grid_width"]
    onnx_graph = helper.make_graph(
        graph.nodes,
        "integer_hyper_synthesis",
        [helper.make_tensor_value_info("quantized_hyper_latent", TensorProto.INT64, [1, hyper_channels, "hyper_height", "hyper_width"])],
        [helper.make_tensor_value_info(name, TensorProto.INT64, output_shape) for name in ("mean", "log_scale")],
        graph.initializers,
    )
    return helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION, producer_name="aecodec")


def context_graph(network: IntegerCheckerboardContext, latent_channels: int) -> onnx.ModelProto:
    """ONNX twin of :class:`IntegerCheckerboardContext` on the whole latent grid, bit-exact.

    Like the numpy reference it computes the non-anchors only, without gathers or scatters:
    the grid, zero-padded to even sides, is split by SpaceToDepth into its four phases
    (row, column parity) — anchors in phases (0, 0) and (1, 1), non-anchors in (0, 1) and
    (1, 0). A non-anchor's 12 taps all land on anchors, each in one anchor phase at an offset
    of at most one half-resolution step, so each phase's im2col is 12 shifted anchor planes.
    The refined phases and the anchors' passed-through ``mean`` and ``log_scale`` are put
    back by DepthToSpace and cropped to the input's size.
    """
    graph = _IntegerGraph()
    m = latent_channels
    limit = network.input_max * 2**ACTIVATION_FRACTION_BITS
    low, high = graph.constant(np.float64(-limit)), graph.constant(np.float64(limit))
    zero, ceiling = graph.constant(np.float64(0.0)), graph.constant(np.float64(network.activation_max * 2**ACTIVATION_FRACTION_BITS))
    (context_weight, hidden_weight, output_weight), (context_bias, hidden_bias, output_bias) = network.weights, network.biases
    size = graph.op("Shape", "anchors", start=2)
    even_pads = graph.op("Concat", graph.constant(np.zeros(6, dtype=np.int64)), graph.op("Mod", size, graph.constant(np.array([2, 2]))), axis=0)

    def phases(name: str, clip: bool) -> str:
        """(1, 4M, H'/2, W'/2) float64: the input cast, optionally clipped, padded to even sides, split into phases."""
        x = graph.op("Cast", name, to=TensorProto.DOUBLE)
        x = graph.op("Clip", x, low, high) if clip else x
        return graph.op("SpaceToDepth", graph.op("Pad", x, even_pads), blocksize=2)

    def part(x: str, start: str, stop: str, axis: int) -> str:
        return graph.op("Slice", x, start, stop, graph.constant(np.array([axis])))

    def phase(stacked: str, index: int) -> str:
        """Phase ``index`` (2·row parity + column parity) of a SpaceToDepth output: (1, M, h, w)."""
        return part(stacked, graph.constant(np.array([index * m])), graph.constant(np.array([(index + 1) * m])), 1)

    anchors = phases("anchors", clip=True)
    anchor_planes = {0: phase(anchors, 0), 3: phase(anchors, 3)}
    padded_planes = {
        index: graph.op("Pad", plane, graph.constant(np.array([0, 0, 1, 1, 0, 0, 1, 1], dtype=np.int64))) for index, plane in anchor_planes.items()
    }
    # The anchors pass mean and log σ through unchanged; the non-anchors read them clipped
    # (log σ stays clipped in their output too).
    means, log_scales, clipped_log_scales = phases("mean", clip=False), phases("log_scale", clip=False), phases("log_scale", clip=True)
    channel_rows = graph.constant(np.array([m, -1]))
    columns, mean_columns, log_scale_columns = [], [], []
    non_anchor_phases = ((0, 1), (1, 0))
    for row_parity, col_parity in non_anchor_phases:
        shifted = []
        for dy, dx in CONTEXT_TAPS:
            row, col = row_parity + dy, col_parity + dx  # the tap's full-resolution offset from the phase's origin
            source = 2 * (row % 2) + col % 2  # an anchor phase: (row + col) is even
            starts = [1 + row // 2, 1 + col // 2]
            ends = [start - 2 if start < 2 else _INT64_MAX for start in starts]
            tap = graph.op("Slice", padded_planes[source], graph.constant(np.array(starts)), graph.constant(np.array(ends)), graph.constant(np.array([2, 3])))
            shifted.append(graph.op("Unsqueeze", tap, graph.constant(np.array([2]))))
        columns.append(graph.op("Reshape", graph.op("Concat", *shifted, axis=2), graph.constant(np.array([m * len(CONTEXT_TAPS), -1]))))
        index = 2 * row_parity + col_parity
        mean_columns.append(graph.op("Reshape", phase(means, index), channel_rows))
        log_scale_columns.append(graph.op("Reshape", phase(clipped_log_scales, index), channel_rows))
    features = graph.op("Clip", graph.rescale(graph.affine(context_weight, context_bias, graph.op("Concat", *columns, axis=1))), zero, ceiling)
    block_mean, block_log_scale = graph.op("Concat", *mean_columns, axis=1), graph.op("Concat", *log_scale_columns, axis=1)
    inputs = graph.op("Concat", features, graph.op("Clip", block_mean, low, high), block_log_scale, axis=0)
    hidden = graph.op("Clip", graph.rescale(graph.affine(hidden_weight, hidden_bias, inputs)), zero, ceiling)
    delta = graph.rescale(graph.affine(output_weight, output_bias, hidden))  # (2M, both phases' positions): Δμ rows, then Δlog σ
    half = graph.op("Shape", anchor_planes[0], start=2)  # (h, w) of every phase
    phase_shape = graph.op("Concat", graph.constant(np.array([1, m])), half, axis=0)
    boundaries = (graph.constant(np.array([0])), graph.op("ReduceProd", half, keepdims=1), graph.constant(np.array([_INT64_MAX])))
    rows = (graph.constant(np.array([0])), graph.constant(np.array([m])), graph.constant(np.array([2 * m])))
    outputs = (("refined_mean", means, block_mean, rows[:2]), ("refined_log_scale", log_scales, block_log_scale, rows[1:]))
    for output, passed_through, base, (first_row, last_row) in outputs:  # μ_h + Δμ, clip(log σ_h) + Δlog σ
        refined = graph.op("Add", base, part(delta, first_row, last_row, 0))
        refined_phases = [graph.op("Reshape", part(refined, start, stop, 1), phase_shape) for start, stop in zip(boundaries, boundaries[1:], strict=False)]
        stacked = graph.op("Concat", phase(passed_through, 0), *refined_phases, phase(passed_through, 3), axis=1)
        full = graph.op("DepthToSpace", stacked, blocksize=2, mode="DCR")
        cropped = graph.op("Slice", full, graph.constant(np.array([0, 0])), size, graph.constant(np.array([2, 3])))
        graph.nodes.append(helper.make_node("Cast", [cropped], [output], name=output, to=TensorProto.INT64))
    latent_shape = [1, m, "latent_height", "latent_width"]
    onnx_graph = helper.make_graph(
        graph.nodes,
        "integer_checkerboard_context",
        [helper.make_tensor_value_info(name, TensorProto.INT64, latent_shape) for name in ("anchors", "mean", "log_scale")],
        [helper.make_tensor_value_info(name, TensorProto.INT64, latent_shape) for name in ("refined_mean", "refined_log_scale")],
        graph.initializers,
    )
    return helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION, producer_name="aecodec")
