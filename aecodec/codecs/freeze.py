"""Freeze a trained codec into its shipped form: float transforms + integer entropy path.

This is where ``update()`` of the codec contract happens: the factorized prior
and the Gaussian conditional become integer PMF tables, h_s (and the context model, if any)
become integer networks, and their worst-case accumulators are checked against the
exactness bound.
The result is a flat dict of numpy arrays, written as one ``.npz`` weights file that loads
without torch.
"""

from __future__ import annotations

import numpy as np
import torch

from aecodec.codecs.context import CONTEXT_INPUT_MAX, CONTEXT_KERNEL
from aecodec.codecs.hyperprior import MeanScaleHyperprior
from aecodec.codecs.registry import ARCHITECTURE
from aecodec.entropy.integer_context import CONTEXT_TAPS, IntegerCheckerboardContext
from aecodec.entropy.integer_hyper import (
    ACTIVATION_FRACTION_BITS,
    EXACT_LIMIT,
    WEIGHT_FRACTION_BITS,
    IntegerHyperSynthesis,
)
from aecodec.entropy.tables import PMFTables, gaussian_tables
from aecodec.transforms.synthesis import HYPER_ACTIVATION_MAX
from aecodec.weights_format import FLOAT_PREFIX, META, meta_array

# h_s and the context model ship as their integer networks only: those are what the codec runs,
# the float weights they were frozen from differ by at most 2^-17, and a refinement that
# starts from a weights file gets them back from the integers (float_state_dict).
_INTEGER_ONLY = ("h_s.", "context.")
Z_INPUT_MAX = 4096
_Z_SEARCH_SUPPORT = 512
_Z_MIN_PROBABILITY = 1e-10


def _fixed_point(weight: np.ndarray, bias: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Integer weights (units 2^-W, as float64) and biases (units 2^-(A+W)) of one layer."""
    bias = bias.detach().double().numpy()
    return np.round(weight * 2.0**WEIGHT_FRACTION_BITS), np.round(bias * 2.0 ** (WEIGHT_FRACTION_BITS + ACTIVATION_FRACTION_BITS))


def _check_exact(network, name: str):
    """Return ``network`` if no input within its clips can leave float64's exact integers."""
    worst = network.worst_case_accumulator()
    if worst >= EXACT_LIMIT:
        raise ValueError(f"integer {name} could exceed exact float64 range ({worst:.3g} ≥ 2^52)")
    return network


def integer_hyper_synthesis(model: MeanScaleHyperprior) -> IntegerHyperSynthesis:
    """Quantize h_s to the fixed-point integer network of :mod:`aecodec.entropy.integer_hyper`."""
    layers = [_fixed_point(conv.weight.detach().double().numpy().reshape(conv.out_channels, -1), conv.bias) for conv in model.h_s.convs]
    weights, biases = zip(*layers)
    return _check_exact(IntegerHyperSynthesis(weights, biases, HYPER_ACTIVATION_MAX, Z_INPUT_MAX), "h_s")


def integer_context(model: MeanScaleHyperprior) -> IntegerCheckerboardContext:
    """Quantize the checkerboard context model to :mod:`aecodec.entropy.integer_context`'s network.

    The 5×5 context kernel keeps only its :data:`CONTEXT_TAPS` (the taps that see anchors from
    a non-anchor), laid out channel-major as the integer network's im2col expects.
    """
    context = model.context
    kernel = context.context.weight.detach().double().numpy()
    center = kernel.shape[-1] // 2
    taps = np.stack([kernel[:, :, center + dy, center + dx] for dy, dx in CONTEXT_TAPS], axis=2)
    layers = [
        _fixed_point(taps.reshape(taps.shape[0], -1), context.context.bias),
        _fixed_point(context.hidden.weight.detach().double().numpy()[:, :, 0, 0], context.hidden.bias),
        _fixed_point(context.output.weight.detach().double().numpy()[:, :, 0, 0], context.output.bias),
    ]
    weights, biases = zip(*layers)
    return _check_exact(IntegerCheckerboardContext(weights, biases, CONTEXT_INPUT_MAX, HYPER_ACTIVATION_MAX), "context model")


def z_tables(model: MeanScaleHyperprior) -> PMFTables:
    """One integer table per hyper-latent channel, trimmed to where the prior has mass."""
    pmfs = model.z_density.pmf_table(_Z_SEARCH_SUPPORT)
    trimmed, minima = [], []
    for pmf in pmfs:
        keep = np.flatnonzero(pmf > _Z_MIN_PROBABILITY)
        low, high = (keep[0], keep[-1]) if keep.size else (_Z_SEARCH_SUPPORT, _Z_SEARCH_SUPPORT)
        trimmed.append(pmf[low : high + 1])
        minima.append(int(low) - _Z_SEARCH_SUPPORT)
    return PMFTables.from_float(trimmed, minima)


def float_state_dict(arrays) -> dict[str, torch.Tensor]:
    """The torch state dict of a weights file's arrays.

    Files written by :func:`freeze` store h_s and the context model only as integer
    networks; their float weights are rebuilt here from the integers (older files that
    store them in float keep theirs).

    Args:
        arrays: Mapping of a weights file's arrays (an ``np.load`` result or a dict).
    """
    state = {key[len(FLOAT_PREFIX) :]: torch.from_numpy(np.array(arrays[key])) for key in arrays.keys() if key.startswith(FLOAT_PREFIX)}
    if "h_s_int.limits" in arrays and not any(name.startswith("h_s.") for name in state):
        state.update(_floats_of_integer_networks(arrays))
    return state


def _float_layer(prefix: str, weight: np.ndarray, bias: np.ndarray, shape: tuple[int, ...]) -> dict[str, torch.Tensor]:
    """The float weight (reshaped to ``shape``) and bias of one integer layer."""
    return {
        f"{prefix}.weight": torch.from_numpy((weight / 2.0**WEIGHT_FRACTION_BITS).reshape(shape).astype(np.float32)),
        f"{prefix}.bias": torch.from_numpy((bias / 2.0 ** (WEIGHT_FRACTION_BITS + ACTIVATION_FRACTION_BITS)).astype(np.float32)),
    }


def _floats_of_integer_networks(arrays) -> dict[str, torch.Tensor]:
    """Float h_s (and context model) weights equal to the integer networks' values.

    The context kernel's taps that never see an anchor are zero: the integer network has none.
    """
    state = {}
    hyper = IntegerHyperSynthesis.from_arrays(arrays, "h_s_int")
    for i, (weight, bias) in enumerate(zip(hyper.weights, hyper.biases)):
        state.update(_float_layer(f"h_s.convs.{i}", weight, bias, (weight.shape[0], -1, 3, 3)))
    if "context_int.limits" in arrays:
        context = IntegerCheckerboardContext.from_arrays(arrays, "context_int")
        (taps, hidden, output), (tap_bias, hidden_bias, output_bias) = context.weights, context.biases
        channels = taps.shape[0]
        taps = taps.reshape(channels, -1, len(CONTEXT_TAPS))
        kernel = np.zeros((channels, taps.shape[1], CONTEXT_KERNEL, CONTEXT_KERNEL))
        for k, (dy, dx) in enumerate(CONTEXT_TAPS):
            kernel[:, :, CONTEXT_KERNEL // 2 + dy, CONTEXT_KERNEL // 2 + dx] = taps[:, :, k]
        state.update(_float_layer("context.context", kernel, tap_bias, kernel.shape))
        state.update(_float_layer("context.hidden", hidden, hidden_bias, (*hidden.shape, 1, 1)))
        state.update(_float_layer("context.output", output, output_bias, (*output.shape, 1, 1)))
    return state


def freeze(model: MeanScaleHyperprior) -> dict[str, np.ndarray]:
    """All arrays of a shipped weights file for ``model`` (EMA weights, eval mode)."""
    model = model.float().eval()
    arrays: dict[str, np.ndarray] = {META: meta_array({"architecture": ARCHITECTURE, "config": model.config.to_dict()})}
    for name, tensor in model.state_dict().items():
        if not name.startswith(_INTEGER_ONLY):
            arrays[f"{FLOAT_PREFIX}{name}"] = tensor.detach().float().contiguous().numpy()
    with torch.no_grad():
        arrays.update(integer_hyper_synthesis(model).to_arrays("h_s_int"))
        if model.context is not None:
            arrays.update(integer_context(model).to_arrays("context_int"))
        arrays.update(z_tables(model).to_arrays("z_tables"))
        arrays.update(gaussian_tables().to_arrays("y_tables"))
    return arrays
