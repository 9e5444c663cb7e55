"""Training configuration, read from a TOML file so every shipped model has a recipe.

A config names the data, the architecture, the rate range and the optimization schedule;
``aecodec train --config FILE`` with the same file and data reproduces a run. Unknown keys
are refused, so a typo never silently falls back to a default.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import tomllib

from aecodec.codecs.config import HyperpriorConfig
from aecodec.errors import InputError
from aecodec.heads.config import HeadConfig


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """The optimization keys every training config shares (keyword-only, after the data paths).

    Attributes:
        crop: Side of the square training crops (a multiple of 64 for the codec, 16 for heads).
        batch: Crops per step.
        min_downscale: Crops are taken at a random scale in [min_downscale, 1], which removes
            the faint JPEG artifacts of the sources (Ballé et al. downsample for this reason).
        steps: Length of the learning-rate schedule.
        lr: Peak Adam learning rate.
        lr_final: Learning rate at the end of the cosine decay.
        warmup: Linear warm-up steps.
        clip_grad: Gradient-norm clip (stabilizes GDN early in training).
        ema_decay: Decay of the exponential moving average of weights that gets shipped.
        precision: ``"auto"`` (bf16 autocast where the hardware computes bf16 natively,
            float32 elsewhere: :func:`aecodec.train.machine.uses_bf16`), ``"bf16"`` or ``"fp32"``.
        threads: torch intra-op threads.
        seed: Seed for initialization and data sampling.
        checkpoint_minutes: Wall-clock minutes between checkpoints.
        validate_every: Steps between learning-curve points.
    """

    crop: int = 128
    batch: int = 8
    min_downscale: float = 0.5
    steps: int = 28000
    lr: float = 5e-4
    lr_final: float = 1e-5
    warmup: int = 500
    clip_grad: float = 1.0
    ema_decay: float = 0.999
    precision: str = "auto"
    threads: int = 2
    seed: int = 0
    checkpoint_minutes: float = 5.0
    validate_every: int = 1000


@dataclass(frozen=True)
class TrainConfig(Schedule):
    """Everything that determines a codec training run (the schedule keys: :class:`Schedule`).

    Attributes:
        train_dir: Folder of training photos (searched recursively).
        val_dir: Folder of validation photos used for the learning curve.
        model: Architecture of the codec.
        lambda_min: Rate–distortion trade-off at the lowest rate (knot 0).
        lambda_max: Trade-off at the highest rate (last knot); λ is log-interpolated between.
        init_from: Optional released weights file (``.npz`` written by
            ``aecodec.train.release``) whose float weights start a new run instead of a random
            initialization, so a model can be refined (new rate range, more steps) without
            paying again for the CPU-hours already spent. A model with ``detail_channels``
            may start from weights without them: they are grown in without changing what
            the weights decode (:mod:`aecodec.train.widen`). Only read when no checkpoint exists.
        resume_from: Optional compact checkpoint in the repository
            (:func:`aecodec.train.loop.save_compact`), rewritten whenever the run's validation
            loss is the best so far, and resumed from when the run folder has no checkpoint:
            a campaign longer than one machine goes on from the repository alone.
        frozen_analysis: Keep g_a's stages as ``init_from`` has them. They are the
            restoration heads' backbone: a codec refined with them frozen shares them (the
            same tensors) with its parent, so the heads trained on the parent's g_a serve
            the refined codec too. A detail branch trains either way.
        detail_rate_warmup: Steps over which the detail channels come to pay for their
            bits: free for the first half, then charged linearly more up to full price. New
            channels charged from the start die: the rate term pushes every symbol to zero
            before g_s has learned to use them (benchmarks/TRAINING.md, "hyperprior-v6").
    """

    train_dir: str
    val_dir: str
    model: HyperpriorConfig = field(default_factory=HyperpriorConfig)
    lambda_min: float = 0.0018
    lambda_max: float = 0.13
    init_from: str | None = None
    resume_from: str | None = None
    frozen_analysis: bool = False
    detail_rate_warmup: int = 0

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """Read a TOML config; relative data paths are relative to the working directory."""
        return _load(cls, path, "model", HyperpriorConfig)


@dataclass(frozen=True)
class HeadTrainConfig(Schedule):
    """Everything that determines a restoration head's training run (schedule: :class:`Schedule`).

    Attributes:
        train_dir: Folder of training photos (searched recursively).
        val_dir: Folder of validation photos used for the learning curve.
        backbone: Released codec weights (``.npz``) whose analysis transform g_a is the
            frozen backbone; the head is trained on exactly those tensors and the release
            records their hash.
        head: Architecture and task of the head.
        temperature: Annealed-mean temperature used by the colorize head's validation.
        backbone_lr_scale: 0 keeps g_a frozen, as every shipped head is. Above 0, g_a is
            fine-tuned with the head at this fraction of its learning rate: this only
            measures what freezing costs, since such a head needs its own g_a and cannot
            ship beside the codec's (``release_head`` refuses it).
        init_from: Optional released head (``.npz`` written by ``release_head``) of the same
            task and backbone that starts the run. ``head.blocks`` may ask for more residual
            blocks per level than it has: the new blocks start as the identity, so a larger
            head starts exactly where the released one ended and the CPU-hours spent on it
            are not paid again. Only read when no checkpoint exists.
    """

    train_dir: str
    val_dir: str
    backbone: str
    head: HeadConfig = field(default_factory=HeadConfig)
    temperature: float = 0.4
    backbone_lr_scale: float = 0.0
    init_from: str | None = None

    @classmethod
    def load(cls, path: str | Path) -> HeadTrainConfig:
        """Read a TOML config with a ``[head]`` table."""
        return _load(cls, path, "head", HeadConfig)


def is_head_config(path: str | Path) -> bool:
    """Whether a config trains a restoration head (it has a ``[head]`` table) rather than the codec."""
    return "head" in _read(Path(path))


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"cannot read config {path}: {exc}") from exc


def _load(cls, path: str | Path, nested: str, nested_cls):
    """Build ``cls`` from a TOML file whose table ``nested`` builds ``nested_cls``; unknown keys are refused."""
    path = Path(path)
    raw = _read(path)
    unknown = set(raw) - {f.name for f in fields(cls)}
    if unknown:
        raise InputError(f"unknown config keys in {path}: {', '.join(sorted(unknown))}")
    nested_raw = raw.pop(nested, {})
    unknown = set(nested_raw) - {f.name for f in fields(nested_cls)}
    if unknown:
        raise InputError(f"unknown [{nested}] keys in {path}: {', '.join(sorted(unknown))}")
    try:
        return cls(**{nested: nested_cls(**nested_raw)}, **raw)
    except (TypeError, ValueError) as exc:
        raise InputError(f"invalid config {path}: {exc}") from exc
