"""Resumable rate–distortion training of the variable-rate codec.

Each step draws a batch of crops and, per crop, a rate parameter t ~ U[0, K−1] with its
trade-off λ(t) log-interpolated between ``lambda_min`` and ``lambda_max``; the loss is
``mean(λ·255²·MSE + bpp)`` so one network learns the whole rate continuum. The run folder
holds ``checkpoint.pt`` (model, EMA, optimizer, RNG, step, hours per machine; rewritten
atomically every few minutes), ``train.log``, ``curve.jsonl`` (validation PSNR/bpp of the
EMA weights against CPU-hours) and, per validation, ``ema-<step>.pt``: the EMA weights that
were validated, which ``aecodec.train.release`` accepts like a checkpoint. Re-running the
same command resumes from the checkpoint.

A run that lasts longer than one machine (a campaign) also keeps a compact checkpoint in
the repository (the config's ``resume_from``: EMA weights in half precision, step, hours,
sampler state), rewritten whenever the validation loss is the best so far. A fresh machine
with an empty run folder resumes from it: the weights and the schedule's position survive,
only Adam's moment estimates start again.
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
from aecodec.codecs.objective import rate_distortion, trade_off
from aecodec.errors import InputError
from aecodec.train.config import TrainConfig
from aecodec.train.data import CropSampler, list_photos, load_rgb
from aecodec.train.machine import machine_kind, resolve_device, uses_bf16
from aecodec.train.parallel import Team, join
from aecodec.train.widen import grow_hidden_width, has_detail_branch, is_narrower, widen_latent


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


_SOLO = Team()  # the default team: one process


class HourMeter:
    """Hours a run has cost, per machine kind: CPU-hours on a CPU, wall-clock hours on a GPU.

    Args:
        device: Where this process trains.
        earlier: Hours per kind that the run had cost before this process resumed it.
        team: The processes of a data-parallel run, whose hours :meth:`sync` adds in.
    """

    def __init__(self, device: torch.device, earlier: dict[str, float] | None = None, team: Team = _SOLO) -> None:
        self.kind = machine_kind(device)
        self.earlier = dict(earlier or {})
        self.team = team
        self._clock = cpu_seconds if device.type == "cpu" else time.monotonic
        self._start = self._clock()
        self._others = 0.0

    def sync(self) -> None:
        """Learn the seconds the rest of the team has spent (every process calls this at the same step)."""
        mine = self._clock() - self._start
        self._others = self.team.sum(mine) - mine

    def by_kind(self) -> dict[str, float]:
        """Hours per machine kind: the run's earlier hours, this process's and the team's at the last sync."""
        hours = dict(self.earlier)
        hours[self.kind] = hours.get(self.kind, 0.0) + (self._clock() - self._start + self._others) / 3600
        return hours

    def total(self) -> float:
        """Hours on every kind together."""
        return sum(self.by_kind().values())


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
    """Estimated bpp and PSNR per rate on center crops, with rounding instead of noise."""
    model.eval()
    device = next(model.parameters()).device
    points = []
    for t in rates:
        bits = mse = pixels = 0.0
        for photo in photos:
            size = (min(photo.shape[:2]) // 64) * 64
            top, left = (photo.shape[0] - size) // 2, (photo.shape[1] - size) // 2
            x = torch.from_numpy(photo[top : top + size, left : left + size].transpose(2, 0, 1).copy())
            x = x[None].float().to(device) / 255
            out = model(x, torch.tensor([t], device=device))
            bits += float(-out["y"].log2().sum() - out["z"].log2().sum())
            mse += float(((out["x_hat"].clamp(0, 1) - x) ** 2).mean()) * size * size
            pixels += size * size
        points.append({"t": t, "bpp": bits / pixels, "psnr": 10 * math.log10(pixels / mse)})
    model.train()
    return points


def validation_loss(points: list[dict], config: TrainConfig, knots: int) -> float:
    """The training loss, ``λ(t)·255²·MSE + bpp``, averaged over :func:`validate`'s points."""
    losses = [float(lambda_for(torch.tensor(p["t"]), config, knots)) * 255**2 * 10 ** (-p["psnr"] / 10) + p["bpp"] for p in points]
    return float(np.mean(losses))


def save_compact(path: Path, ema: torch.nn.Module, step: int, hours: dict[str, float], sampler: CropSampler, validation: float) -> None:
    """Write the repository's compact checkpoint: EMA weights in half precision and where the run stands.

    Half precision keeps the checkpoint small enough to commit whenever it improves; the
    float32 EMA rebuilt from it validates the same (benchmarks/TRAINING.md, "hyperprior-v8").
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    save_atomic(
        {
            "ema": {name: value.half() if value.is_floating_point() else value for name, value in ema.state_dict().items()},
            "step": step,
            "hours": hours,
            "sampler_rng": sampler.rng.bit_generator.state,
            "validation_loss": validation,
        },
        path,
    )


def initialize_from(model: MeanScaleHyperprior, state: dict[str, torch.Tensor]) -> list[str]:
    """Load released weights into ``model``, which may add a context model, detail channels
    or hidden width they lack.

    A context model starts with a zero output layer, detail channels are embedded by
    :func:`aecodec.train.widen.widen_latent` and hidden width by
    :func:`aecodec.train.widen.grow_hidden_width`, so the refined model decodes exactly what
    the released one did.

    Raises:
        InputError: The weights do not fit the model in any other way.

    Returns:
        Names of the parameters that kept their initialization or were widened.
    """
    if model.config.detail_channels and not has_detail_branch(state):
        grown = widen_latent(state, model)
    elif is_narrower(state, model):
        grown = grow_hidden_width(state, model)
    else:
        grown = None
    if grown is not None:
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


def _hours_of(state: dict) -> dict[str, float]:
    """Hours per machine kind of a checkpoint (older ones hold only their CPU seconds)."""
    return state.get("hours") or {"unrecorded CPU": state["cpu_seconds"] / 3600}


def train(config: TrainConfig, run_dir: str | Path, log=print, device: str = "cpu") -> Path:
    """Train (or resume) until ``config.steps`` on ``device``; return the checkpoint path.

    Resumes from the run folder's checkpoint, else from the config's compact ``resume_from``
    checkpoint if it exists, else starts from ``init_from`` or from scratch. Under torchrun
    the processes share each batch (:mod:`aecodec.train.parallel`); the first one logs,
    validates and saves.
    """
    team = join()
    log = log if team.leads else (lambda message: None)
    where = resolve_device(device)
    run_dir, checkpoint_path = start_run(config, run_dir)
    bf16 = uses_bf16(config.precision, where)
    model = MeanScaleHyperprior(config.model).to(where, memory_format=torch.channels_last)
    model.g_a.stages.requires_grad_(not config.frozen_analysis)  # a detail branch always trains
    ema = copy.deepcopy(model)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=config.lr)
    sampler = CropSampler(config.train_dir, config.crop, config.min_downscale, config.seed)
    val_photos = [load_rgb(p) for p in list_photos(config.val_dir)[::4]]
    step, hours, best = 0, {}, math.inf
    compact = Path(config.resume_from) if config.resume_from else None
    if checkpoint_path.exists():
        state = torch.load(checkpoint_path, weights_only=False, map_location=where)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        sampler.rng.bit_generator.state = state["sampler_rng"]
        torch.set_rng_state(state["torch_rng"])
        step, hours, best = state["step"], _hours_of(state), state.get("best_validation_loss", math.inf)
        log(f"resumed from step {step} ({sum(hours.values()):.2f} h)")
    elif compact is not None and compact.exists():
        state = torch.load(compact, weights_only=True, map_location=where)
        model.load_state_dict({name: value.float() if value.is_floating_point() else value for name, value in state["ema"].items()})
        ema.load_state_dict(model.state_dict())
        sampler.rng.bit_generator.state = state["sampler_rng"]
        step, hours, best = state["step"], state["hours"], state["validation_loss"]
        log(f"resumed from the compact checkpoint {compact} at step {step} ({sum(hours.values()):.2f} h); Adam starts afresh")
    elif config.init_from:
        with np.load(config.init_from) as arrays:
            added = initialize_from(model, float_state_dict(arrays))
        ema.load_state_dict(model.state_dict())
        log(f"initialized from {config.init_from}" + (f"; new: {', '.join(added)}" if added else ""))
    rates = None  # one process draws rate parameters from torch's global generator, saved in the checkpoint
    if team.size > 1:  # each process draws its own crops and rates, seeded by its rank and the step it starts at
        seeds = np.random.default_rng([config.seed, team.rank, step])
        sampler.rng = np.random.default_rng(seeds.integers(2**63))
        rates = torch.Generator().manual_seed(int(seeds.integers(2**63)))
    batch, net = team.share(config.batch), team.wrap(model)
    meter = HourMeter(where, hours, team)
    log(
        f"training on {meter.kind}, {team.size} process(es) × {config.threads} thread(s), "
        f"{'bf16 autocast' if bf16 else 'float32'} (precision = {config.precision!r})"
    )
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
                "cpu_seconds": meter.total() * 3600,
                "hours": meter.by_kind(),
                "best_validation_loss": best,
            },
            checkpoint_path,
        )

    running = []
    while step < config.steps:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, config)
        x = torch.from_numpy(sampler.batch(batch)).to(where).contiguous(memory_format=torch.channels_last)
        t = torch.rand(batch, generator=rates) * (knots - 1)
        with torch.autocast(where.type, dtype=torch.bfloat16, enabled=bf16):
            out = net(x, t.to(where))
        charge = latent_charge(step, config)
        loss, distortion, bpp = rate_distortion(out, x, lambda_for(t, config, knots).to(where), None if charge is None else charge.to(where))
        if not apply_step(optimizer, loss, model, ema, config):
            log(f"step {step}: non-finite gradient, step skipped")
            continue
        step += 1
        running.append((loss.item(), distortion.item(), bpp.item()))
        if step % 100 == 0 or step == config.steps:
            meter.sync()
        if step % 100 == 0:
            mean = np.mean(running, axis=0)
            running.clear()
            cpu_hours = meter.total()
            log(f"step {step} loss {mean[0]:.3f} mse*255² {mean[1]:.2f} bpp {mean[2]:.3f} lr {learning_rate(step, config):.2e} cpu-h {cpu_hours:.3f}")
        if not team.leads:
            continue
        if step % config.validate_every == 0 or step == config.steps:
            points = validate(ema, val_photos, [0.0, (knots - 1) / 2, float(knots - 1)])
            cpu_hours, loss_now = meter.total(), validation_loss(points, config, knots)
            with open(run_dir / "curve.jsonl", "a") as curve:
                curve.write(json.dumps({"step": step, "cpu_hours": cpu_hours, "hours": meter.by_kind(), "validation_loss": loss_now, "points": points}) + "\n")
            log(f"validate step {step}: " + ", ".join(f"t={p['t']:.1f} {p['bpp']:.3f}bpp {p['psnr']:.2f}dB" for p in points) + f"; loss {loss_now:.4f}")
            snapshot = {"config": asdict(config), "ema": ema.state_dict(), "step": step, "cpu_seconds": cpu_hours * 3600, "hours": meter.by_kind()}
            save_atomic(snapshot, run_dir / f"ema-{step:06d}.pt")  # releasable: the curve may peak before the end
            if loss_now < best:
                best = loss_now
                if compact is not None:
                    save_compact(compact, ema, step, meter.by_kind(), sampler, best)
                    log(f"best validation loss so far: compact checkpoint {compact} rewritten")
        if time.monotonic() - last_save > 60 * config.checkpoint_minutes or step == config.steps:
            save()
            last_save = time.monotonic()
    del net
    team.leave()
    return checkpoint_path
