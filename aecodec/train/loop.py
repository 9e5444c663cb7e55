"""Resumable rate–distortion training of the variable-rate codec.

Each step draws a batch of crops and, per crop, a rate parameter t ~ U[0, K−1] with its
trade-off λ(t) log-interpolated between ``lambda_min`` and ``lambda_max``; the loss is
``mean(λ·255²·MSE + bpp)`` so one network learns the whole rate continuum. The run folder
holds ``checkpoint.pt`` (model, EMA, optimizer, RNG, step, CPU seconds; rewritten atomically
every few minutes), ``train.log``, ``curve.jsonl`` (validation PSNR/bpp of the EMA weights
against CPU-hours) and, per validation, ``ema-<step>.pt``: the EMA weights that were
validated, which ``aecodec.train.release`` accepts like a checkpoint. Re-running the same
command resumes from the checkpoint.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from aecodec.codecs.freeze import float_state_dict
from aecodec.codecs.hyperprior import MeanScaleHyperprior
from aecodec.errors import InputError
from aecodec.train.config import TrainConfig
from aecodec.train.data import CropSampler, list_photos, load_rgb
from aecodec.train.losses import rate_distortion, trade_off
from aecodec.train.widen import has_detail_branch, widen_latent


def lambda_for(t: torch.Tensor, config: TrainConfig, knots: int) -> torch.Tensor:
    """λ at rate parameters ``t``: log-linear between the config's ``lambda_min`` and ``lambda_max``."""
    return trade_off(t, config.lambda_min, config.lambda_max, knots)


def latent_charge(step: int, config: TrainConfig) -> torch.Tensor | None:
    """Weight of each latent channel's bits in the loss at ``step``, or None for full price.

    Detail channels are free for the first half of ``detail_rate_warmup`` and then charged
    linearly more, so g_s learns to use them before the rate term can silence them.
    """
    warmup = config.detail_rate_warmup
    if step >= warmup or not config.model.detail_channels:
        return None
    charge = torch.ones(config.model.latent_channels)
    charge[config.model.m :] = max(0.0, 2 * step / warmup - 1)
    return charge


def learning_rate(step: int, config: TrainConfig) -> float:
    """Linear warm-up, then cosine decay from ``lr`` to ``lr_final`` over ``steps``."""
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    progress = min(1.0, (step - config.warmup) / max(1, config.steps - config.warmup))
    return config.lr_final + 0.5 * (config.lr - config.lr_final) * (1 + math.cos(math.pi * progress))


def save_atomic(state: dict, path: Path) -> None:
    """Write a checkpoint so that an interrupted write never replaces a good one."""
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def cpu_seconds() -> float:
    """CPU time of this process so far: runs are costed in CPU-hours, not wall-clock."""
    usage = os.times()
    return usage.user + usage.system


def apply_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, model: torch.nn.Module, ema: torch.nn.Module, config) -> bool:
    """Backpropagate, clip, step and update the EMA; False (nothing changed) for a non-finite gradient."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_grad)
    if not torch.isfinite(grad_norm):
        return False
    optimizer.step()
    update_ema(ema, model, config.ema_decay)
    return True


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """Move the averaged weights (the ones that get shipped) towards the current ones."""
    for ema_p, p in zip(ema.parameters(), model.parameters()):
        ema_p.lerp_(p, 1 - decay)


@torch.no_grad()
def validate(model: MeanScaleHyperprior, photos: list[np.ndarray], rates: list[float]) -> list[dict]:
    """Estimated bpp and PSNR per rate on centre crops, with rounding instead of noise."""
    model.eval()
    points = []
    for t in rates:
        bits = mse = pixels = 0.0
        for photo in photos:
            size = (min(photo.shape[:2]) // 64) * 64
            top, left = (photo.shape[0] - size) // 2, (photo.shape[1] - size) // 2
            x = torch.from_numpy(photo[top : top + size, left : left + size].transpose(2, 0, 1).copy())
            x = x[None].float() / 255
            out = model(x, torch.tensor([t]))
            bits += float(-out["y"].log2().sum() - out["z"].log2().sum())
            mse += float(((out["x_hat"].clamp(0, 1) - x) ** 2).mean()) * size * size
            pixels += size * size
        points.append({"t": t, "bpp": bits / pixels, "psnr": 10 * math.log10(pixels / mse)})
    model.train()
    return points


def initialise_from(model: MeanScaleHyperprior, state: dict[str, torch.Tensor]) -> list[str]:
    """Load released weights into ``model``, which may add a context model or detail channels they lack.

    A context model starts with a zero output layer, and detail channels are embedded by
    :func:`aecodec.train.widen.widen_latent`, so the refined model decodes exactly what the
    released one did.

    Raises:
        InputError: The weights do not fit the model in any other way.

    Returns:
        Names of the parameters that kept their initialisation or were widened.
    """
    if model.config.detail_channels and not has_detail_branch(state):
        grown = widen_latent(state, model)
        model.load_state_dict(grown)
        return [name for name, value in grown.items() if name not in state or state[name].shape != value.shape]
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # a tensor of another shape
        raise InputError(f"init_from weights do not fit the model: {exc}") from exc
    if unexpected or any(not name.startswith("context.") for name in missing):
        raise InputError(f"init_from weights do not fit the model: missing {missing}, unexpected {unexpected}")
    return missing


def start_run(config, run_dir: str | Path) -> tuple[Path, Path]:
    """Create the run folder and set threads and seed; returns it and its checkpoint path."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    return run_dir, run_dir / "checkpoint.pt"


def train(config: TrainConfig, run_dir: str | Path, log=print) -> Path:
    """Train (or resume) until ``config.steps``; return the checkpoint path."""
    run_dir, checkpoint_path = start_run(config, run_dir)
    model = MeanScaleHyperprior(config.model).to(memory_format=torch.channels_last)
    model.g_a.stages.requires_grad_(not config.frozen_analysis)  # a detail branch always trains
    ema = copy.deepcopy(model)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=config.lr)
    sampler = CropSampler(config.train_dir, config.crop, config.min_downscale, config.seed)
    val_photos = [load_rgb(p) for p in list_photos(config.val_dir)[::4]]
    step, cpu_before = 0, 0.0
    if checkpoint_path.exists():
        state = torch.load(checkpoint_path, weights_only=False)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        sampler.rng.bit_generator.state = state["sampler_rng"]
        torch.set_rng_state(state["torch_rng"])
        step, cpu_before = state["step"], state["cpu_seconds"]
        log(f"resumed from step {step} ({cpu_before / 3600:.2f} CPU-h)")
    elif config.init_from:
        with np.load(config.init_from) as arrays:
            added = initialise_from(model, float_state_dict(arrays))
        ema.load_state_dict(model.state_dict())
        log(f"initialised from {config.init_from}" + (f"; new: {', '.join(added)}" if added else ""))
    cpu_start = cpu_seconds()
    last_save = time.monotonic()
    knots = config.model.knots

    def save() -> None:
        save_atomic(
            {
                "config": asdict(config),
                "model": model.state_dict(),
                "ema": ema.state_dict(),
                "optimizer": optimizer.state_dict(),
                "sampler_rng": sampler.rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(),
                "step": step,
                "cpu_seconds": cpu_before + cpu_seconds() - cpu_start,
            },
            checkpoint_path,
        )

    running = []
    while step < config.steps:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, config)
        x = torch.from_numpy(sampler.batch(config.batch)).contiguous(memory_format=torch.channels_last)
        t = torch.rand(config.batch) * (knots - 1)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
            out = model(x, t)
        loss, distortion, bpp = rate_distortion(out, x, lambda_for(t, config, knots), latent_charge(step, config))
        if not apply_step(optimizer, loss, model, ema, config):
            log(f"step {step}: non-finite gradient, step skipped")
            continue
        step += 1
        running.append((loss.item(), distortion.item(), bpp.item()))
        if step % 100 == 0:
            mean = np.mean(running, axis=0)
            running.clear()
            cpu_hours = (cpu_before + cpu_seconds() - cpu_start) / 3600
            log(f"step {step} loss {mean[0]:.3f} mse*255² {mean[1]:.2f} bpp {mean[2]:.3f} lr {learning_rate(step, config):.2e} cpu-h {cpu_hours:.3f}")
        if step % config.validate_every == 0 or step == config.steps:
            points = validate(ema, val_photos, [0.0, (knots - 1) / 2, float(knots - 1)])
            cpu_hours = (cpu_before + cpu_seconds() - cpu_start) / 3600
            with open(run_dir / "curve.jsonl", "a") as curve:
                curve.write(json.dumps({"step": step, "cpu_hours": cpu_hours, "points": points}) + "\n")
            log(f"validate step {step}: " + ", ".join(f"t={p['t']:.1f} {p['bpp']:.3f}bpp {p['psnr']:.2f}dB" for p in points))
            snapshot = {"config": asdict(config), "ema": ema.state_dict(), "step": step, "cpu_seconds": cpu_hours * 3600}
            save_atomic(snapshot, run_dir / f"ema-{step:06d}.pt")  # releasable: the curve may peak before the end
        if time.monotonic() - last_save > 60 * config.checkpoint_minutes or step == config.steps:
            save()
            last_save = time.monotonic()
    return checkpoint_path
