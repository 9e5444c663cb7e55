"""Resumable training of a restoration head over the codec's frozen backbone.

Each step draws clean crops, degrades them on the fly (:mod:`aecodec.train.degrade`) and
trains the head only (``backbone_lr_scale`` > 0 fine-tunes g_a too, which only serves to
measure what freezing it costs): the denoise head on the MSE of the restored crop, the colorize head
on the cross-entropy between its chroma-bin logits and soft-encoded true chroma (each
pixel's chroma spread over nearby bins by a Gaussian, so neighbouring bins are not
counted as wholly wrong). The run folder has the same files as a codec run:
``checkpoint.pt``, ``train.log`` and ``curve.jsonl``.
"""

from __future__ import annotations

import copy
import json
import re
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from aecodec.codecs.freeze import float_state_dict
from aecodec.errors import InputError
from aecodec.heads import chroma
from aecodec.heads.backbone import backbone_sha256
from aecodec.heads.config import NOISE_SCALE
from aecodec.heads.model import BackboneAndHead, ResidualBlock, RestorationHead, load_backbone
from aecodec.imageio import to_u8
from aecodec.metrics import colourfulness, psnr
from aecodec.train.config import HeadTrainConfig
from aecodec.train.data import CropSampler, list_photos, load_rgb
from aecodec.train.degrade import degrade, gray, jpeg, noise_level_input
from aecodec.train.loop import apply_step, cpu_seconds, learning_rate, save_atomic, start_run
from aecodec.train.machine import uses_bf16
from aecodec.weights_format import read_meta

VALIDATION_CROP = 256
_NEW_BLOCK = re.compile(r"level\d\.refine\.\d+\.body\.\d\.(weight|bias)")
"""Parameters a grown head may have that its ``init_from`` head lacks: added residual blocks."""


def _to_tensor(images: np.ndarray) -> torch.Tensor:
    """(B, H, W, 3) float images → a channels-last (B, 3, H, W) float32 tensor."""
    tensor = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32))
    return tensor.contiguous(memory_format=torch.channels_last)


def soft_chroma_targets(clean: np.ndarray, bins: int, extent: float) -> torch.Tensor:
    """Soft bin assignment of the half-resolution true chroma, (B, bins², H/2, W/2).

    The 2-D Gaussian over bin centers factorizes into one weight vector per axis, so the
    targets are an outer product of two (bins,)-vectors per pixel.
    """
    rgb = clean.astype(np.float64) / 255
    half = rgb.reshape(rgb.shape[0], rgb.shape[1] // 2, 2, rgb.shape[2] // 2, 2, 3).mean(axis=(2, 4))
    values = chroma.chroma(half)
    centers = chroma.bin_centres(bins, extent)
    spread = 0.75 * (centers[1] - centers[0])
    weights = np.exp(-0.5 * ((values[..., None] - centers) / spread) ** 2)
    weights /= weights.sum(axis=-1, keepdims=True)
    joint = weights[..., 0, :, None] * weights[..., 1, None, :]
    joint = joint.reshape(*joint.shape[:3], bins * bins).transpose(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(joint, dtype=np.float32))


class _Task:
    """Batch preparation, loss and validation of one head task."""

    def __init__(self, config: HeadTrainConfig, rng: np.random.Generator) -> None:
        self.config = config
        self.rng = rng

    def inputs(self, clean: np.ndarray) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """(input, noise level or None, target) tensors for a uint8 batch of crops."""
        head = self.config.head
        if head.task == "colorize":
            return _to_tensor(np.stack([gray(c) for c in clean])), None, soft_chroma_targets(clean, head.chroma_bins, head.chroma_range)
        degraded, levels = [], []
        for crop in clean:
            noisy, sigma = degrade(crop, self.rng)
            degraded.append(noisy / 255)
            levels.append(noise_level_input(noisy, sigma, self.rng) / NOISE_SCALE)
        level = torch.tensor(levels, dtype=torch.float32).reshape(-1, 1, 1, 1)
        return _to_tensor(np.stack(degraded)), level, _to_tensor(clean.astype(np.float32) / 255)

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.config.head.task == "colorize":
            return -(target * F.log_softmax(output.float(), dim=1)).sum(dim=1).mean()
        return F.mse_loss(output.float(), target) * 255**2


@torch.no_grad()
def initialize_head_from(head: RestorationHead, arrays: dict[str, np.ndarray], backbone_hash: str) -> list[str]:
    """Load a released head into ``head``, which may have more residual blocks per level.

    The added blocks' last convolution is zeroed, so each starts as the identity and the
    grown head computes exactly what the released one did.

    Args:
        head: The head to train.
        arrays: The released head's weights file.
        backbone_hash: sha256 of the g_a this run trains on; the released head must have
            been trained on the same tensors.

    Raises:
        InputError: Another task or backbone, or weights that do not fit in any other way.

    Returns:
        Names of the parameters that the released head did not have.
    """
    meta = read_meta(arrays)
    if meta["config"]["task"] != head.config.task:
        raise InputError(f"init_from is a {meta['config']['task']} head, the config trains {head.config.task}")
    if meta["backbone"]["sha256"] != backbone_hash:
        raise InputError("init_from was trained on another backbone than the config's")
    try:
        missing, unexpected = head.load_state_dict(float_state_dict(arrays), strict=False)
    except RuntimeError as exc:  # a tensor of another shape
        raise InputError(f"init_from weights do not fit the head: {exc}") from exc
    if unexpected or any(not _NEW_BLOCK.fullmatch(name) for name in missing):
        raise InputError(f"init_from weights do not fit the head: missing {missing}, unexpected {unexpected}")
    for name, module in head.named_modules():
        if isinstance(module, ResidualBlock) and f"{name}.body.0.weight" in missing:
            module.body[-1].weight.zero_()
            module.body[-1].bias.zero_()
    return missing


@torch.no_grad()
def validate(model: BackboneAndHead, config: HeadTrainConfig, photos: list[np.ndarray]) -> dict:
    """Validation numbers of the EMA head on center crops of the validation photos.

    Denoise: PSNR at σ = 25 (seeded, unclipped input) and on JPEG quality 20, with the
    input's PSNR beside each. Colorize: PSNR against the gray baseline, and colourfulness
    relative to the truth.
    """
    model.eval()
    rng = np.random.default_rng(0)
    sums: dict[str, list[float]] = {}
    for photo in photos:
        side = min(VALIDATION_CROP, min(photo.shape[:2]) // 16 * 16)
        top, left = (photo.shape[0] - side) // 2, (photo.shape[1] - side) // 2
        clean = photo[top : top + side, left : left + side]
        if config.head.task == "colorize":
            luminance = chroma.luminance_u8(clean)
            logits = model(_to_tensor(gray(clean)[None]))[0].float().numpy()
            color = chroma.colorize(luminance, logits, config.head.chroma_bins, config.head.chroma_range, config.temperature)
            results = {
                "psnr": psnr(color, clean),
                "gray_psnr": psnr(np.repeat(luminance[..., None], 3, axis=-1), clean),
                "colourfulness": colourfulness(color),
                "true_colourfulness": colourfulness(clean),
            }
        else:
            noisy = clean.astype(np.float32) + rng.normal(0, 25, clean.shape).astype(np.float32)
            compressed = jpeg(clean, 20).astype(np.float32)
            results = {}
            for name, degraded, sigma in (("sigma25", noisy, 25.0), ("jpeg20", compressed, 0.0)):
                level = torch.full((1, 1, 1, 1), sigma / NOISE_SCALE)
                restored = model(_to_tensor(degraded[None] / 255), level)[0].float().numpy().transpose(1, 2, 0)
                results[name] = psnr(to_u8(restored * 255), clean)
                results[f"{name}_input"] = psnr(to_u8(degraded), clean)
        for key, value in results.items():
            sums.setdefault(key, []).append(value)
    return {key: float(np.mean(values)) for key, values in sums.items()}


def train_head(config: HeadTrainConfig, run_dir: str | Path, log=print) -> Path:
    """Train (or resume) a head until ``config.steps``; return the checkpoint path."""
    run_dir, checkpoint_path = start_run(config, run_dir)
    bf16 = uses_bf16(config.precision, torch.device("cpu"))
    with np.load(config.backbone) as archive:
        codec_arrays = {name: archive[name] for name in archive.files}
    codec_config = read_meta(codec_arrays)["config"]
    backbone = load_backbone(codec_arrays, codec_config["n"], codec_config["m"])
    head = RestorationHead(config.head, codec_config["n"], codec_config["m"])
    train_backbone = config.backbone_lr_scale > 0
    model = BackboneAndHead(backbone, head, train_backbone).to(memory_format=torch.channels_last)
    ema = copy.deepcopy(model)  # its own g_a, which only moves when g_a is trained
    trained, trained_ema = (model, ema) if train_backbone else (head, ema.head)
    optimizer = torch.optim.Adam(head.parameters(), lr=config.lr)
    backbone_group = {"params": list(backbone.parameters()), "lr_scale": config.backbone_lr_scale}
    sampler = CropSampler(config.train_dir, config.crop, config.min_downscale, config.seed)
    task = _Task(config, np.random.default_rng(config.seed + 1))
    val_photos = [load_rgb(p) for p in list_photos(config.val_dir)[::4]]
    step, cpu_before = 0, 0.0
    if checkpoint_path.exists():
        state = torch.load(checkpoint_path, weights_only=False)
        head.load_state_dict(state["head"])
        ema.head.load_state_dict(state["ema"])
        if "backbone" in state:  # a run that fine-tunes g_a
            if not train_backbone:
                raise InputError(f"{checkpoint_path} fine-tunes g_a, but the config freezes it (backbone_lr_scale = 0)")
            backbone.load_state_dict(state["backbone"])
            ema.backbone.load_state_dict(state["ema_backbone"])
            optimizer.add_param_group(backbone_group)
        optimizer.load_state_dict(state["optimizer"])
        sampler.rng.bit_generator.state = state["sampler_rng"]
        task.rng.bit_generator.state = state["task_rng"]
        torch.set_rng_state(state["torch_rng"])
        step, cpu_before = state["step"], state["cpu_seconds"]
        log(f"resumed from step {step} ({cpu_before / 3600:.2f} CPU-h)")
    elif config.init_from:
        with np.load(config.init_from) as archive:
            added = initialize_head_from(head, {name: archive[name] for name in archive.files}, backbone_sha256(codec_arrays))
        ema.head.load_state_dict(head.state_dict())
        log(f"initialized from {config.init_from}" + (f"; new: {len(added)} tensors of added blocks" if added else ""))
    if train_backbone and len(optimizer.param_groups) == 1:
        optimizer.add_param_group(backbone_group)  # fine-tuning starts here, also from a frozen run's checkpoint
    cpu_start = cpu_seconds()
    last_save = time.monotonic()

    def cpu_hours() -> float:
        return (cpu_before + cpu_seconds() - cpu_start) / 3600

    def save() -> None:
        save_atomic(
            {
                "config": asdict(config),
                "head": head.state_dict(),
                "ema": ema.head.state_dict(),
                "optimizer": optimizer.state_dict(),
                "sampler_rng": sampler.rng.bit_generator.state,
                "task_rng": task.rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(),
                "step": step,
                "cpu_seconds": cpu_hours() * 3600,
                **({"backbone": backbone.state_dict(), "ema_backbone": ema.backbone.state_dict()} if train_backbone else {}),
            },
            checkpoint_path,
        )

    running = []
    while step < config.steps:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, config) * group.get("lr_scale", 1.0)
        x, level, target = task.inputs(sampler.crops(config.batch))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            output = model(x, level)
        loss = task.loss(output, target)
        if not apply_step(optimizer, loss, trained, trained_ema, config):
            log(f"step {step}: non-finite gradient, step skipped")
            continue
        step += 1
        running.append(loss.item())
        if step % 100 == 0:
            log(f"step {step} loss {np.mean(running):.4f} lr {learning_rate(step, config):.2e} cpu-h {cpu_hours():.3f}")
            running.clear()
        if step % config.validate_every == 0 or step == config.steps:
            numbers = validate(ema, config, val_photos)
            with open(run_dir / "curve.jsonl", "a") as curve:
                curve.write(json.dumps({"step": step, "cpu_hours": cpu_hours(), **numbers}) + "\n")
            log(f"validate step {step}: " + ", ".join(f"{k} {v:.2f}" for k, v in numbers.items()))
        if time.monotonic() - last_save > 60 * config.checkpoint_minutes or step == config.steps:
            save()
            last_save = time.monotonic()
    return checkpoint_path
