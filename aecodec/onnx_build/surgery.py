"""Exact rewrites of exported float graphs into operators onnxruntime's CPU kernels run faster.

Each rewrite computes the same function as the graph it replaces: the transposed
convolutions up to the order of their sums, the depth-to-space exactly. The speed-ups they
were adopted for are in benchmarks/DECISIONS.md.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

NCHWC_BLOCK = 16
"""Output channels per block of onnxruntime's NCHWc convolutions with AVX-512."""

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


def split_transposed_convolutions(model: onnx.ModelProto) -> onnx.ModelProto:
    """Rewrite every stride-2 ConvTranspose as phase convolutions and a depth-to-space.

    A transposed convolution with stride 2 computes each of the four output phases (even or
    odd row × even or odd column) as an ordinary convolution of the input with a subset of
    its taps (3×3, 3×2, 2×3 and 2×2 for a 5×5 kernel: the same 25 multiply-adds per input
    pixel). onnxruntime runs those in its blocked NCHWc convolution kernels, which its
    ConvTranspose (GEMM + col2im) does not use.
    A layer with fewer than :data:`NCHWC_BLOCK` output channels (the RGB layer) becomes one
    convolution with the four phases' kernels zero-padded to a common window instead: the
    blocked kernels pad output channels to a full block, so four 3-channel convolutions
    would cost four 16-channel ones. The sums are the same up to their order.
    The phases are stacked channel by channel (channel c's four phases at 4c … 4c + 3, the
    order of a CRD depth-to-space), which :func:`interleave_depth_to_space` then runs fast.

    Raises:
        ValueError: A ConvTranspose is not an odd square stride-2 one with 'same' padding.
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
        if channels < NCHWC_BLOCK:
            combined = np.zeros((channels, 4, weight.shape[0], window, window), dtype=weight.dtype)
            for index, (phase_weight, (top, left, _, _)) in enumerate(phases):
                rows, cols = phase_weight.shape[2:]
                combined[:, index, :, before - top : before - top + rows, before - left : before - left + cols] = phase_weight
            bias = numpy_helper.to_array(initializers[bias_name])
            model.graph.initializer.extend(
                [
                    numpy_helper.from_array(combined.reshape(4 * channels, *combined.shape[2:]), f"{weight_name}.phases"),
                    numpy_helper.from_array(np.repeat(bias, 4), f"{bias_name}.phases"),
                ]
            )
            nodes.append(helper.make_node("Conv", [source, f"{weight_name}.phases", f"{bias_name}.phases"], [stacked], pads=[before, before, after, after]))
        else:
            # Each phase (1, C, h, w) becomes (1, C, 1, h, w); stacked on axis 2 and reshaped to
            # (1, 4C, h, w) they are in CRD order at the cost of the one copy Concat makes anyway.
            axis, size = f"{node.output[0]}.phase_axis", f"{node.output[0]}.stacked_shape"
            model.graph.initializer.extend(
                [
                    numpy_helper.from_array(np.array([2], dtype=np.int64), axis),
                    numpy_helper.from_array(np.array([1, 4 * channels], dtype=np.int64), f"{size}.leading"),
                ]
            )
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


def interleave_depth_to_space(model: onnx.ModelProto) -> onnx.ModelProto:
    """Rewrite every ×2 CRD DepthToSpace as a depthwise 2×2, stride-2 ConvTranspose with one-hot kernels.

    Both put channel 4c + 2i + j of pixel (h, w) at channel c, pixel (2h + i, 2w + j), and the
    ConvTranspose does it exactly (each output is one input times 1 plus three times 0).
    onnxruntime's DepthToSpace is a generic element-wise transpose, slower than its
    ConvTranspose.

    Raises:
        ValueError: The channel count of a DepthToSpace input is not known from shape inference.
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
