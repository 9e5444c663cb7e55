"""The float graphs: torch modules wrapped for export and exported with the dynamo exporter.

Every wrapper computes exactly what the torch backend computes (eval mode); what changes is
only how the computation is laid out for ONNX: GDN's parameters precomputed, the backbone's
stages as outputs, a head fed by the backbone graph's outputs.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import onnx
import torch
from torch import nn
from torch.nn import functional as F

from aecodec.codecs.hyperprior import MeanScaleHyperprior
from aecodec.layers import GDN, flush_subnormal_gammas
from aecodec.onnx_build import OPSET
from aecodec.runtime import onnx_files

Shape = list[int | str]
"""Declared shape of a graph input or output; a string names a dynamic dimension."""


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


def fold_gdn(model: nn.Module) -> None:
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
class TorchGraph:
    """One torch module to export.

    Attributes:
        module: The module; its forward takes ``inputs`` in order.
        inputs: Example input of every graph input.
        shapes: Declared shape of every graph input and output, inputs first, outputs in
            the module's output order.
    """

    module: nn.Module
    inputs: dict[str, torch.Tensor]
    shapes: dict[str, Shape]

    @property
    def output_names(self) -> list[str]:
        return [name for name in self.shapes if name not in self.inputs]


def _feature_shapes(n: int, m: int | str) -> dict[str, Shape]:
    """Declared shapes of the backbone's outputs, which are the heads' inputs.

    Args:
        n: Channels of g_a's first three stages.
        m: Channels of the latent output; a head declares them dynamic, since it reads the
            first channels of whichever backbone codec's latent, detail channels or not.
    """
    return {
        onnx_files.BACKBONE_OUTPUTS[0]: [1, n, "height_2", "width_2"],
        onnx_files.BACKBONE_OUTPUTS[1]: [1, n, "height_4", "width_4"],
        onnx_files.BACKBONE_OUTPUTS[2]: [1, n, "height_8", "width_8"],
        onnx_files.BACKBONE_OUTPUTS[3]: [1, m, "latent_height", "latent_width"],
    }


def codec_graphs(model: MeanScaleHyperprior) -> dict[str, TorchGraph]:
    """The float graphs of a (GDN-folded) codec, keyed by file name, with small example inputs."""
    m, n = model.config.latent_channels, model.config.n
    image, latent = torch.rand(1, 3, 64, 96), torch.randn(1, m, 4, 6)
    image_shape = [1, 3, "height", "width"]
    latent_shape = [1, m, "latent_height", "latent_width"]
    hyper_shape = [1, model.config.hyper_channels, "hyper_height", "hyper_width"]
    return {
        onnx_files.ANALYSIS: TorchGraph(_Backbone(model.g_a), {"image": image}, {"image": image_shape, **_feature_shapes(n, m)}),
        onnx_files.HYPER_ANALYSIS: TorchGraph(
            _HyperAnalysis(model.h_a), {"gained_latent": latent}, {"gained_latent": latent_shape, "hyper_latent": hyper_shape}
        ),
        onnx_files.SYNTHESIS: TorchGraph(model.g_s, {"latent": latent}, {"latent": latent_shape, "image": image_shape}),
    }


def head_graph(head: nn.Module, n: int, m: int, noise_input: bool, output: tuple[str, Shape]) -> TorchGraph:
    """The graph of a restoration head, fed by its backbone's outputs and the image.

    Args:
        head: The head (eval mode).
        n, m: Channels of the backbone's first three stages and of its last stage.
        noise_input: Whether the head takes a noise level.
        output: Name and declared shape of the head's output.
    """
    inputs = {"image": torch.rand(1, 3, 64, 96)}
    inputs.update(
        (name, torch.randn(1, channels, 64 // stride, 96 // stride))
        for name, channels, stride in zip(onnx_files.BACKBONE_OUTPUTS, (n, n, n, m), (2, 4, 8, 16), strict=True)
    )
    shapes: dict[str, Shape] = {"image": [1, 3, "height", "width"], **_feature_shapes(n, "latent_channels")}
    if noise_input:
        inputs["noise_level"] = torch.full((1, 1, 1, 1), 0.5)
        shapes["noise_level"] = [1, 1, 1, 1]
    name, shape = output
    shapes[name] = shape
    return TorchGraph(_HeadGraph(head, m), inputs, shapes)


def _declare_shapes(model: onnx.ModelProto, shapes: dict[str, Shape]) -> None:
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


def export_torch(graph: TorchGraph) -> onnx.ModelProto:
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
