"""Function-preserving growth of a released codec: its latent by detail channels, its
transforms' hidden width by more channels.

A codec whose top quality is bound by its capacity (its unquantized autoencoder is barely
better than its highest quality) needs more latent channels, but training a wider codec
from scratch costs more CPU-hours than one session has. Instead the released weights are
embedded in the wider network (Net2Net, Chen et al. 2016) so that it starts decoding
exactly what the released codec decoded:

* every weight that reads a new latent or hidden channel starts at zero (g_s's first
  layer, h_a's first layer, h_s's last layer, the context model's inputs), so the old
  outputs do not move;
* every weight that writes one keeps its random initialization (the detail branch, h_s's
  new hidden channels), so the new channels carry signal and gradients reach both sides;
* the new channels' gains and inverse gains start at the old channels' mean at each knot,
  their predicted mean and log-scale at zero.

Only the rate moves at the start: the new channels cost bits under the initial unit scale
before g_s has learned to use them. Started cheap instead (gains suppressed towards low
rates, small scales), they stay silent: hardly a symbol differs from zero for g_s to learn
from (benchmarks/TRAINING.md, "hyperprior-v6"). A run that widens therefore starts
them like the old channels and lets them in free at first, charging them gradually
(``detail_rate_warmup``, :func:`aecodec.train.loop.latent_charge`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from aecodec.codecs.hyperprior import MeanScaleHyperprior
from aecodec.errors import InputError
from aecodec.layers import GDN
from aecodec.transforms.synthesis import HyperSynthesis


def latent_channels(state: dict[str, torch.Tensor]) -> int:
    """Latent channels of a codec's float weights (the width of its gain tables)."""
    return state["gain.log_gain"].shape[1]


def has_detail_branch(state: dict[str, torch.Tensor]) -> bool:
    """Whether a codec's float weights already have a detail branch in g_a."""
    return any(name.startswith("g_a.detail.") for name in state)


def _positions(m_old: int, m_new: int, context_channels: int) -> dict[str, np.ndarray]:
    """Where each old index lands along each kind of widened axis (new channels are appended)."""
    hidden_old = HyperSynthesis.hidden_channels(m_old)
    latent = np.arange(m_old)
    return {
        "latent": latent,
        # [mean | log-scale] halves of a 2·M axis
        "pair": np.concatenate([latent, m_new + latent]),
        "hidden": np.arange(hidden_old),
        # h_s's middle convolution feeds a ×2 depth-to-space: hidden channel c is rows 4c…4c+3
        "hidden4": np.arange(4 * hidden_old),
        # the context model's parameter network reads [context features | mean | log-scale]
        "context_input": np.concatenate([np.arange(context_channels), context_channels + latent, context_channels + m_new + latent]),
    }


# Per parameter: the kind of each widened axis (None: unchanged), and what fills the new
# entries — "zero" (they read new channels or predict them), "init" (they write new
# channels: keep the random initialization) or "mean" (new gains: the old channels' mean at
# each knot).
_RULES: dict[str, tuple[tuple[str | None, ...], str]] = {
    "g_s.net.0.weight": (("latent", None, None, None), "zero"),
    "h_a.net.0.weight": ((None, "latent", None, None), "zero"),
    "h_s.convs.1.weight": (("hidden4", None, None, None), "init"),
    "h_s.convs.1.bias": (("hidden4",), "init"),
    "h_s.convs.2.weight": (("pair", "hidden", None, None), "zero"),
    "h_s.convs.2.bias": (("pair",), "zero"),
    "gain.log_gain": ((None, "latent"), "mean"),
    "gain.log_inverse_gain": ((None, "latent"), "mean"),
    "context.context.weight": ((None, "latent", None, None), "zero"),
    "context.hidden.weight": ((None, "context_input", None, None), "zero"),
    "context.output.weight": (("pair", None, None, None), "zero"),
    "context.output.bias": (("pair",), "zero"),
}


def _embed(old: torch.Tensor, initial: torch.Tensor, axes: tuple[str | None, ...], fill: str, positions: dict[str, np.ndarray]) -> torch.Tensor:
    """``old`` placed inside a tensor of ``initial``'s shape, new entries filled by ``fill``."""
    if fill == "zero":
        grown = torch.zeros_like(initial)
    elif fill == "mean":
        grown = old.mean(dim=1, keepdim=True).expand_as(initial).clone()
    else:
        grown = initial.clone()
    index = np.ix_(*(positions[axis] if axis else np.arange(size) for axis, size in zip(axes, old.shape, strict=True)))
    grown[tuple(torch.from_numpy(i) for i in index)] = old
    return grown


def widen_latent(state: dict[str, torch.Tensor], model: MeanScaleHyperprior) -> dict[str, torch.Tensor]:
    """``state``, a released codec's float weights, grown to ``model``'s detail channels.

    Args:
        state: Float weights of a codec without detail channels and with ``model``'s
            backbone widths (``n``, ``m``).
        model: The wider network; its own (random) parameters fill what ``state`` lacks.

    Returns:
        A state dict ``model`` loads strictly.

    Raises:
        InputError: ``state`` is not a narrower version of ``model``.
    """
    config = model.config
    m_old = latent_channels(state)
    if has_detail_branch(state) or m_old != config.m or config.detail_channels == 0:
        raise InputError(f"widening grows a codec without detail channels (latent = backbone m = {config.m}); init_from has {m_old} latent channels")
    positions = _positions(m_old, config.latent_channels, config.context_channels)
    initial = model.state_dict()
    grown = {}
    for name, value in initial.items():
        if name not in state:
            grown[name] = value  # the detail branch, or a context model the release lacks
        elif state[name].shape == value.shape:
            grown[name] = state[name]
        elif name in _RULES:
            axes, fill = _RULES[name]
            grown[name] = _embed(state[name], value, axes, fill, positions)
        else:
            raise InputError(f"init_from weights do not fit the model: {name} is {tuple(state[name].shape)}, the model's {tuple(value.shape)}")
    return grown


# Which axis of a parameter writes (produces) channels and which reads them, by module type.
# ConvTranspose2d stores its weight as (in, out, kh, kw); GDN's gamma is (out, in).
_WRITES_READS: dict[tuple[type, str], tuple[int | None, int | None]] = {
    (nn.Conv2d, "weight"): (0, 1),
    (nn.Conv2d, "bias"): (0, None),
    (nn.ConvTranspose2d, "weight"): (1, 0),
    (nn.ConvTranspose2d, "bias"): (0, None),
    (GDN, "beta_sqrt"): (0, None),
    (GDN, "gamma_sqrt"): (0, 1),
}


def grow_hidden_width(state: dict[str, torch.Tensor], model: MeanScaleHyperprior) -> dict[str, torch.Tensor]:
    """``state``, a codec's float weights, grown to ``model``'s wider hidden layers.

    Every tensor whose shape differs is embedded in the model's own (random) one: the
    entries through which an old output would read a new hidden channel start at zero, so
    the grown network computes exactly what ``state`` did; the new channels keep their
    random incoming weights, so they carry signal and their outgoing weights get gradients
    from the first step (Net2Net's function-preserving growth, Chen et al. 2016, with
    zero-initialized outgoing weights instead of copied units).

    Raises:
        InputError: A tensor differs in a way other than wider hidden channels.
    """
    modules = dict(model.named_modules())
    grown = {}
    for name, initial in model.state_dict().items():
        old = state.get(name)
        if old is None:
            raise InputError(f"init_from weights do not fit the model: they lack {name}")
        if old.shape == initial.shape:
            grown[name] = old
            continue
        module_name, _, kind = name.rpartition(".")
        axes = _WRITES_READS.get((type(modules[module_name]), kind))
        if axes is None or old.dim() != initial.dim() or any(a > b for a, b in zip(old.shape, initial.shape)):
            raise InputError(f"init_from weights do not fit the model: {name} is {tuple(old.shape)}, the model's {tuple(initial.shape)}")
        writes, reads = axes
        value = initial.clone()
        if reads is not None and old.shape[reads] != initial.shape[reads]:
            index = [slice(None)] * initial.dim()
            index[reads] = slice(old.shape[reads], None)
            if writes is not None:
                index[writes] = slice(0, old.shape[writes])
            value[tuple(index)] = 0
        value[tuple(slice(0, size) for size in old.shape)] = old
        grown[name] = value
    return grown


def is_narrower(state: dict[str, torch.Tensor], model: MeanScaleHyperprior) -> bool:
    """Whether ``state`` has the model's tensors with narrower transforms (``n``) than it."""
    return state["g_a.stages.0.0.weight"].shape[0] < model.config.n
