"""Export a model's networks to ONNX graphs that onnxruntime runs without torch.

One graph per network, NCHW with batch 1, dynamic height and width, opset 18, weights
stored as plain initializers (GDN's training reparametrization folded away)::

    analysis.onnx        image (1,3,H,W) ─g_a─► latent y (1,M,H/16,W/16)
    hyper_analysis.onnx  gained_latent y_g ─edge-pad to ×4─h_a─► hyper_latent z (1,N,⌈h/4⌉,⌈w/4⌉)
    synthesis.onnx       latent ŷ ─g_s─► image (unclipped)
    hyper_decoder.onnx   ẑ (int64) ─exact integer h_s─► mean, log_scale (int64, units of 2^-8)
    context.onnx         anchors, mean, log_scale (int64, latent grid) ─exact integer checkerboard
                         context─► refined_mean, refined_log_scale   (only models with a context model)

In synthesis.onnx every transposed convolution is written as phase convolutions and a
depth-to-space (:func:`_split_transposed_convolutions`), which onnxruntime runs faster, and
there and in the heads every depth-to-space is a one-hot depthwise 2×2 ConvTranspose
(:func:`_interleave_depth_to_space`), faster again and exactly equal.
The float graphs are rate-free, one per method of the Transforms protocol, so a rate search
runs g_a once per image; the host applies the per-channel gains, which ``gains.json`` gives
with the exact interpolation. The same graphs serve the onnx backend (which runs all of them,
the integer ones giving the numpy networks' very integers) and embedders in other languages
(with ``entropy_tables.json`` for the range coder). ONNX Runtime has no float64
Conv, so the integer networks (h_s and the context model) are written as im2col + float64
MatMul, which is exact for the same reason the numpy reference is: every product and partial
sum is an integer below 2^53. Their integer weights are stored in the smallest integer type
that holds them and cast to float64 inside the graph, which keeps the files small and the
arithmetic unchanged.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn
from torch.nn import functional as F

from aecodec import __version__, zoo
from aecodec.codecs.config import HyperpriorConfig
from aecodec.codecs.freeze import float_state_dict
from aecodec.codecs.hyperprior import MeanScaleHyperprior
from aecodec.codecs.registry import read_meta
from aecodec.entropy.integer_context import CONTEXT_TAPS, IntegerCheckerboardContext
from aecodec.entropy.integer_hyper import ACTIVATION_FRACTION_BITS, WEIGHT_FRACTION_BITS, IntegerHyperSynthesis
from aecodec.entropy.tables import PMFTables
from aecodec.heads.config import HEAD_ARCHITECTURE, HeadConfig
from aecodec.layers import GDN, flush_subnormal_gammas
from aecodec.runtime import onnx_files

OPSET = 18
IR_VERSION = 10
_INT64_MAX = np.iinfo(np.int64).max
_NCHWC_BLOCK = 16  # output channels per block of onnxruntime's NCHWc convolutions with AVX-512
# Offsets (row, col) of a 3×3 kernel in integer_hyper's im2col order: tap k at divmod(k, 3) − 1.
_SQUARE_TAPS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1))


class _FoldedGDN(nn.Module):
    """A GDN layer with ``beta`` and ``gamma`` precomputed, so the graph holds plain tensors.

    Computes exactly what :class:`aecodec.layers.GDN` computes in eval mode: the squares are
    taken once here, in float32 as GDN takes them, instead of on every call in the graph.
    """

    def __init__(self, gdn: GDN) -> None:
        super().__init__()
        with torch.no_grad():
            gamma = gdn.gamma_sqrt.square()
            self.register_buffer("beta", gdn.beta_sqrt.square() + gdn._BETA_FLOOR)
            self.register_buffer("gamma", gamma.reshape(*gamma.shape, 1, 1))
        self.inverse = gdn.inverse

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = F.conv2d(x.abs(), self.gamma, self.beta)
        return x * norm if self.inverse else x / norm


def _fold_gdn(model: nn.Module) -> None:
    """Replace every GDN inside ``model`` by its folded form (subnormal gammas zeroed), in place."""
    flush_subnormal_gammas(model)
    targets = [(parent, name, child) for parent in model.modules() for name, child in parent.named_children() if isinstance(child, GDN)]
    for parent, name, child in targets:
        setattr(parent, name, _FoldedGDN(child))


class _HyperAnalysis(nn.Module):
    """h_a after edge-padding y to a multiple of 4, as the torch backend does."""

    def __init__(self, h_a: nn.Module) -> None:
        super().__init__()
        self.h_a = h_a

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        height, width = latent.shape[-2:]
        return self.h_a(F.pad(latent, (0, -width % 4, 0, -height % 4), mode="replicate"))


class _Backbone(nn.Module):
    """g_a with every stage as an output: the codec reads the latent, the heads all four.

    The last output is the codec's latent: the last stage's channels, then any detail
    channels (a head's backbone has none).
    """

    def __init__(self, g_a: nn.Module) -> None:
        super().__init__()
        self.g_a = g_a

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        features = self.g_a.features(image)
        return (*features[:-1], self.g_a.latent(features))


class _HeadGraph(nn.Module):
    """A head fed by the backbone graph's outputs (the backbone runs once, in analysis.onnx).

    The head reads the first ``m`` channels of the latent output, g_a's last stage: a codec
    with detail channels appends them after those, so its analysis.onnx feeds the head as is.
    """

    def __init__(self, head: nn.Module, m: int) -> None:
        super().__init__()
        self.head = head
        self.m = m

    def forward(self, image, features_2, features_4, features_8, latent, noise_level=None) -> torch.Tensor:
        return self.head(image, [features_2, features_4, features_8, latent[:, : self.m]], noise_level)


@dataclass(frozen=True)
class _TorchGraph:
    """One torch module to export.

    Attributes:
        module: The module; its forward takes ``inputs`` in order.
        inputs: Example input of every graph input.
        shapes: Declared shape of every graph input and output; a string names a dynamic
            dimension.
    """

    module: nn.Module
    inputs: dict[str, torch.Tensor]
    shapes: dict[str, list[int | str]]

    @property
    def output_names(self) -> list[str]:
        return [name for name in self.shapes if name not in self.inputs]


def _feature_shapes(n: int, m: int | str) -> dict[str, list[int | str]]:
    """Declared shapes of the backbone's outputs, which are the heads' inputs.

    Args:
        m: Channels of the latent output; a head declares them dynamic, since it reads the
            first channels of whichever backbone codec's latent, detail channels or not.
    """
    return {
        onnx_files.BACKBONE_OUTPUTS[0]: [1, n, "height_2", "width_2"],
        onnx_files.BACKBONE_OUTPUTS[1]: [1, n, "height_4", "width_4"],
        onnx_files.BACKBONE_OUTPUTS[2]: [1, n, "height_8", "width_8"],
        onnx_files.BACKBONE_OUTPUTS[3]: [1, m, "latent_height", "latent_width"],
    }


def _torch_graphs(model: MeanScaleHyperprior) -> dict[str, _TorchGraph]:
    """The float graphs of a (GDN-folded) model, with small example inputs."""
    m, n = model.config.latent_channels, model.config.n
    image, latent = torch.rand(1, 3, 64, 96), torch.randn(1, m, 4, 6)
    image_shape = [1, 3, "height", "width"]
    latent_shape = [1, m, "latent_height", "latent_width"]
    hyper_shape = [1, model.config.hyper_channels, "hyper_height", "hyper_width"]
    return {
        onnx_files.ANALYSIS: _TorchGraph(_Backbone(model.g_a), {"image": image}, {"image": image_shape, **_feature_shapes(n, m)}),
        onnx_files.HYPER_ANALYSIS: _TorchGraph(
            _HyperAnalysis(model.h_a), {"gained_latent": latent}, {"gained_latent": latent_shape, "hyper_latent": hyper_shape}
        ),
        onnx_files.SYNTHESIS: _TorchGraph(model.g_s, {"latent": latent}, {"latent": latent_shape, "image": image_shape}),
    }


def _declare_shapes(model: onnx.ModelProto, shapes: dict[str, list[int | str]]) -> None:
    """Give graph inputs and outputs readable dimension names instead of exporter symbols."""
    for value in [*model.graph.input, *model.graph.output]:
        dims = value.type.tensor_type.shape.dim
        for dim, size in zip(dims, shapes[value.name], strict=True):
            if isinstance(size, str):
                dim.dim_param = size
            else:
                dim.dim_value = size


def _strip_provenance(model: onnx.ModelProto) -> None:
    """Drop the exporter's per-node metadata (stack traces with local paths and line numbers).

    Without it the graphs are the same bytes whoever exports them, wherever, and after any
    edit of the Python source that leaves the computation alone.
    """
    for item in [*model.graph.node, *model.graph.input, *model.graph.output, *model.graph.value_info, *model.graph.initializer]:
        del item.metadata_props[:]
    for node in model.graph.node:
        node.doc_string = ""


def _export_torch(graph: _TorchGraph) -> onnx.ModelProto:
    """Export one module with the dynamo exporter, dynamic where ``graph.shapes`` names a dimension."""
    dynamic = tuple(
        {axis: torch.export.Dim(size, min=1) for axis, size in enumerate(graph.shapes[name]) if isinstance(size, str)} or None
        for name in graph.inputs
    )
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)  # "torchvision is not installed" is not news here
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                graph.module.eval(),
                tuple(graph.inputs.values()),
                dynamo=True,
                opset_version=OPSET,
                input_names=list(graph.inputs),
                output_names=graph.output_names,
                dynamic_shapes=dynamic,
                verbose=False,
            )
    finally:
        exporter_log.setLevel(level)
    model = program.model_proto
    _strip_provenance(model)
    _declare_shapes(model, graph.shapes)
    return model


def _phase_taps(kernel: int, padding: int, phase: int) -> tuple[list[int], int, int]:
    """Kernel taps, in input order, that reach output phase ``phase`` of a stride-2 transposed conv.

    Output row o = 2i − padding + j collects input row i through tap j, so the rows of phase
    a (o = 2m + a) come from taps j ≡ a + padding (mod 2) at input rows i = m + (a + padding − j)/2.

    Returns:
        (taps ordered by increasing input row, padding before, padding after).
    """
    taps = [j for j in range(kernel) if (j - phase - padding) % 2 == 0]
    offsets = [(phase + padding - j) // 2 for j in taps]
    return taps[::-1], max(0, -min(offsets)), max(0, max(offsets))


def _split_transposed_convolutions(model: onnx.ModelProto) -> onnx.ModelProto:
    """Rewrite every stride-2 ConvTranspose as phase convolutions and a depth-to-space.

    A transposed convolution with stride 2 computes each of the four output phases (even or
    odd row × even or odd column) as an ordinary convolution of the input with a subset of
    its taps (3×3, 3×2, 2×3 and 2×2 for a 5×5 kernel: the same 25 multiply-adds per input
    pixel). onnxruntime runs those in its blocked NCHWc convolution kernels, which its
    ConvTranspose (GEMM + col2im) does not use; g_s's synthesis got 1.3× faster on this CPU.
    A layer with fewer than :data:`_NCHWC_BLOCK` output channels (the RGB layer) becomes one
    convolution with the four phases' kernels zero-padded to a common window instead: the
    blocked kernels pad output channels to a full block, so four 3-channel convolutions
    would cost four 16-channel ones. The sums are the same up to their order (≈1e-6).
    The phases are stacked channel by channel (channel c's four phases at 4c … 4c + 3, the
    order of a CRD depth-to-space), which :func:`_interleave_depth_to_space` then runs fast.
    """
    initializers = {item.name: item for item in model.graph.initializer}
    nodes = []
    for node in model.graph.node:
        if node.op_type != "ConvTranspose":
            nodes.append(node)
            continue
        attributes = {item.name: helper.get_attribute_value(item) for item in node.attribute}
        kernel = attributes["kernel_shape"][0]
        padding = kernel // 2
        expected = {"group": 1, "strides": [2, 2], "pads": [padding] * 4, "output_padding": [1, 1], "dilations": [1, 1], "kernel_shape": [kernel, kernel]}
        if any(attributes.get(name, value) != value for name, value in expected.items()) or attributes.get("auto_pad", b"NOTSET") != b"NOTSET":
            raise ValueError(f"{node.name}: only odd square stride-2 transposed convolutions are rewritten, got {attributes}")
        source, weight_name, bias_name = node.input
        weight = numpy_helper.to_array(initializers[weight_name])  # (in, out, k, k)
        model.graph.initializer.remove(initializers[weight_name])
        taps = [_phase_taps(kernel, padding, phase) for phase in (0, 1)]
        before, after = max(tap[1] for tap in taps), max(tap[2] for tap in taps)
        window = before + 1 + after
        phases = []  # (kernel (out, in, rows, cols), pads) per phase, row-major as CRD expects
        for row_taps, top, bottom in taps:
            for col_taps, left, right in taps:
                phase_weight = weight[:, :, row_taps][:, :, :, col_taps].transpose(1, 0, 2, 3)
                phases.append((phase_weight, [top, left, bottom, right]))
        stacked, channels = f"{node.output[0]}.phases", weight.shape[1]
        if channels < _NCHWC_BLOCK:
            combined = np.zeros((channels, 4, weight.shape[0], window, window), dtype=weight.dtype)
            for index, (phase_weight, (top, left, _, _)) in enumerate(phases):
                rows, cols = phase_weight.shape[2:]
                combined[:, index, :, before - top : before - top + rows, before - left : before - left + cols] = phase_weight
            bias = numpy_helper.to_array(initializers[bias_name])
            model.graph.initializer.extend(
                [numpy_helper.from_array(combined.reshape(4 * channels, *combined.shape[2:]), f"{weight_name}.phases"), numpy_helper.from_array(np.repeat(bias, 4), f"{bias_name}.phases")]
            )
            nodes.append(helper.make_node("Conv", [source, f"{weight_name}.phases", f"{bias_name}.phases"], [stacked], pads=[before, before, after, after]))
        else:
            # Each phase (1, C, h, w) becomes (1, C, 1, h, w); stacked on axis 2 and reshaped to
            # (1, 4C, h, w) they are in CRD order at the cost of the one copy Concat makes anyway.
            axis, size = f"{node.output[0]}.phase_axis", f"{node.output[0]}.stacked_shape"
            model.graph.initializer.extend([numpy_helper.from_array(np.array([2], dtype=np.int64), axis), numpy_helper.from_array(np.array([1, 4 * channels], dtype=np.int64), f"{size}.leading")])
            expanded = []
            for index, (phase_weight, pads) in enumerate(phases):
                output = f"{node.output[0]}.phase{index}"
                model.graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(phase_weight), f"{weight_name}.phase{index}"))
                nodes.append(helper.make_node("Conv", [source, f"{weight_name}.phase{index}", bias_name], [output], pads=pads))
                expanded.append(f"{output}.expanded")
                nodes.append(helper.make_node("Unsqueeze", [output, axis], [expanded[-1]]))
            nodes.append(helper.make_node("Concat", expanded, [f"{stacked}.5d"], axis=2))
            nodes.append(helper.make_node("Shape", [f"{node.output[0]}.phase0"], [f"{size}.spatial"], start=2))
            nodes.append(helper.make_node("Concat", [f"{size}.leading", f"{size}.spatial"], [size], axis=0))
            nodes.append(helper.make_node("Reshape", [f"{stacked}.5d", size], [stacked]))
        nodes.append(helper.make_node("DepthToSpace", [stacked], [node.output[0]], blocksize=2, mode="CRD"))
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


def _interleave_depth_to_space(model: onnx.ModelProto) -> onnx.ModelProto:
    """Rewrite every ×2 CRD DepthToSpace as a depthwise 2×2, stride-2 ConvTranspose with one-hot kernels.

    Both put channel 4c + 2i + j of pixel (h, w) at channel c, pixel (2h + i, 2w + j), and the
    ConvTranspose does it exactly (each output is one input times 1 plus three times 0).
    onnxruntime's DepthToSpace is a generic element-wise transpose: on g_s's largest layer
    (4·96 × 128 × 192 floats) it took 18 ms where the ConvTranspose took 7.9 ms (same run).
    In alternating runs with identical outputs, the synthesis of a 768×512 image got 1.11×
    faster (144 → 129 ms) and the denoise head 1.06× (560 → 528 ms).
    """
    shapes = {info.name: info for info in onnx.shape_inference.infer_shapes(model, data_prop=True).graph.value_info}
    shapes.update((info.name, info) for info in model.graph.input)
    nodes = []
    for node in model.graph.node:
        attributes = {item.name: helper.get_attribute_value(item) for item in node.attribute}
        if node.op_type != "DepthToSpace" or attributes.get("blocksize") != 2 or attributes.get("mode") != b"CRD":
            nodes.append(node)
            continue
        channels = shapes[node.input[0]].type.tensor_type.shape.dim[1].dim_value // 4
        if channels < 1:
            raise ValueError(f"{node.name}: the channel count of a depth-to-space input must be known to rewrite it")
        kernel = np.zeros((4 * channels, 1, 2, 2), dtype=np.float32)
        index = np.arange(4 * channels)
        kernel[index, 0, index % 4 // 2, index % 2] = 1.0
        name = f"{node.output[0]}.interleave"
        model.graph.initializer.append(numpy_helper.from_array(kernel, name))
        nodes.append(helper.make_node("ConvTranspose", [node.input[0], name], list(node.output), group=channels, kernel_shape=[2, 2], strides=[2, 2]))
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


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


def _hyper_decoder(network: IntegerHyperSynthesis, hyper_channels: int, latent_channels: int) -> onnx.ModelProto:
    """ONNX twin of :class:`IntegerHyperSynthesis`, bit-exact for |ẑ| ≤ ``input_max``."""
    graph = _IntegerGraph()
    x = graph.op("Cast", "quantized_hyper_latent", to=TensorProto.DOUBLE)
    x = graph.op("Mul", x, graph.constant(np.float64(2**ACTIVATION_FRACTION_BITS)))
    ceiling = graph.constant(np.float64(network.activation_max * 2**ACTIVATION_FRACTION_BITS))
    for weight, bias in zip(network.weights[:-1], network.biases[:-1]):
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


def _context(network: IntegerCheckerboardContext, latent_channels: int) -> onnx.ModelProto:
    """ONNX twin of :class:`IntegerCheckerboardContext` on the whole latent grid, bit-exact.

    Like the numpy reference it computes the non-anchors only, without gathers or scatters:
    the grid, zero-padded to even sides, is split by SpaceToDepth into its four phases
    (row, column parity) — anchors in phases (0, 0) and (1, 1), non-anchors in (0, 1) and
    (1, 0). A non-anchor's 12 taps all land on anchors, each in one anchor phase at an offset
    of at most one half-resolution step, so each phase's im2col is 12 shifted anchor planes.
    The refined phases and the anchors' passed-through ``mean`` and ``log_scale`` are put
    back by DepthToSpace and cropped to the input's size. (Computing every position and
    masking, as the previous export did, doubled the work.)
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
    padded_planes = {index: graph.op("Pad", plane, graph.constant(np.array([0, 0, 1, 1, 0, 0, 1, 1], dtype=np.int64))) for index, plane in anchor_planes.items()}
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
        refined_phases = [graph.op("Reshape", part(refined, start, stop, 1), phase_shape) for start, stop in zip(boundaries, boundaries[1:])]
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


def _replace_folder(staging: Path, target: Path) -> None:
    """Put ``staging`` in place of ``target``; the old folder is moved aside first, then deleted."""
    if not target.exists():
        os.rename(staging, target)
        return
    graveyard = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    os.rename(target, graveyard / target.name)
    os.rename(staging, target)
    shutil.rmtree(graveyard)


def _cards(record: dict, config: HyperpriorConfig, arrays: dict[str, np.ndarray], input_max: int, context_input_max: float | None) -> dict[str, dict]:
    """Every JSON card of the folder: one per graph, then the gains and entropy-tables cards."""
    return {
        **onnx_files.model_cards(record, config, input_max, context_input_max),
        onnx_files.GAINS: onnx_files.gains_card(record, config, arrays["float.gain.log_gain"], arrays["float.gain.log_inverse_gain"]),
        onnx_files.ENTROPY_TABLES: onnx_files.entropy_tables_card(
            record, PMFTables.from_arrays(arrays, "z_tables"), PMFTables.from_arrays(arrays, "y_tables")
        ),
    }


def _write_graphs(model_id: str, folder: Path) -> None:
    """Export every graph of ``model_id`` with its cards, then the export record."""
    found = zoo.entry(model_id)
    arrays = zoo.load_arrays(model_id)
    config = HyperpriorConfig(**read_meta(arrays)["config"])
    model = MeanScaleHyperprior(config).eval()
    model.load_state_dict(float_state_dict(arrays))
    _fold_gdn(model)
    models = {name: _export_torch(graph) for name, graph in _torch_graphs(model).items()}
    models[onnx_files.SYNTHESIS] = _interleave_depth_to_space(_split_transposed_convolutions(models[onnx_files.SYNTHESIS]))
    network = IntegerHyperSynthesis.from_arrays(arrays, "h_s_int")
    models[onnx_files.HYPER_DECODER] = _hyper_decoder(network, config.hyper_channels, config.latent_channels)
    context = IntegerCheckerboardContext.from_arrays(arrays, "context_int") if config.context_channels else None
    if context is not None:
        models[onnx_files.CONTEXT] = _context(context, config.latent_channels)
    record = {"model_id": model_id, "layout": onnx_files.LAYOUT, "weights_file": found.file.name, "weights_sha256": found.sha256, "opset": OPSET}
    for name, graph in models.items():
        onnx.checker.check_model(graph, full_check=True)
        onnx.save_model(graph, folder / name)
    for name, card in _cards(record, config, arrays, network.input_max, context.input_max if context is not None else None).items():
        (folder / name).write_text(onnx_files.card_text(card) + "\n", encoding="utf-8")
    record["exported_with"] = {"aecodec": __version__, "torch": torch.__version__, "onnx": onnx.__version__}
    files = onnx_files.codec_files(context is not None)
    record["files"] = {name: {"sha256": zoo.sha256_of(folder / name), "bytes": (folder / name).stat().st_size} for name in files}
    (folder / onnx_files.EXPORT_RECORD).write_text(json.dumps(record, indent=2) + "\n")


def _head_graph(head_id: str) -> tuple[onnx.ModelProto, dict, HeadConfig, dict]:
    """The exported graph of a head, its export record, config and backbone record."""
    from aecodec.heads.model import RestorationHead
    from aecodec.heads.registry import verified_backbone

    found = zoo.entry(head_id)
    arrays = zoo.load_arrays(head_id)
    meta = read_meta(arrays)
    backbone_id, codec_config, _ = verified_backbone(meta)
    config = HeadConfig(**meta["config"])
    n, m = codec_config["n"], codec_config["m"]
    head = RestorationHead(config, n, m).eval()
    head.load_state_dict(float_state_dict(arrays))
    inputs = {"image": torch.rand(1, 3, 64, 96)}
    inputs.update(
        (name, torch.randn(1, channels, 64 // stride, 96 // stride))
        for name, channels, stride in zip(onnx_files.BACKBONE_OUTPUTS, (n, n, n, m), (2, 4, 8, 16))
    )
    shapes: dict[str, list[int | str]] = {"image": [1, 3, "height", "width"], **_feature_shapes(n, "latent_channels")}
    if config.noise_input:
        inputs["noise_level"] = torch.full((1, 1, 1, 1), 0.5)
        shapes["noise_level"] = [1, 1, 1, 1]
    output = onnx_files.head_output(config)
    shapes[output["name"]] = output["shape"]
    graph = _interleave_depth_to_space(_export_torch(_TorchGraph(_HeadGraph(head, m), inputs, shapes)))
    backbone = {"model": backbone_id, "sha256": meta["backbone"]["sha256"]}
    record = {"model_id": head_id, "layout": onnx_files.LAYOUT, "weights_file": found.file.name, "weights_sha256": found.sha256, "opset": OPSET, "backbone": backbone}
    return graph, record, config, meta


def _write_head(head_id: str, folder: Path) -> None:
    """Export a head's graph and model card, then the export record."""
    graph, record, config, meta = _head_graph(head_id)
    onnx.checker.check_model(graph, full_check=True)
    onnx.save_model(graph, folder / onnx_files.HEAD)
    card = onnx_files.head_card(record, config, float(meta.get("temperature", 1.0)))
    (folder / onnx_files.card_name(onnx_files.HEAD)).write_text(onnx_files.card_text(card) + "\n", encoding="utf-8")
    record["exported_with"] = {"aecodec": __version__, "torch": torch.__version__, "onnx": onnx.__version__}
    path = folder / onnx_files.HEAD
    record["files"] = {onnx_files.HEAD: {"sha256": zoo.sha256_of(path), "bytes": path.stat().st_size}}
    (folder / onnx_files.EXPORT_RECORD).write_text(json.dumps(record, indent=2) + "\n")


def export_model(model_id: str, out_dir: Path | None = None) -> list[Path]:
    """Export a model's (or a head's) graphs, cards and ``export.json`` into ``out_dir``, all or nothing.

    Args:
        model_id: A codec or head of the manifest; its weights file is verified before export.
        out_dir: Target folder (replaced if it exists); default ``weights/onnx/<model_id>``.

    Returns:
        The files written, sorted by name.
    """
    out_dir = Path(out_dir) if out_dir is not None else onnx_files.onnx_dir(model_id)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; installed graphs must be readable by all
        is_head = zoo.entry(model_id).architecture == HEAD_ARCHITECTURE
        (_write_head if is_head else _write_graphs)(model_id, staging)
        _replace_folder(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return sorted(out_dir.iterdir())
