"""Seconds per training step of the codec (or the restoration heads) for a few settings.

Used to pick the training recipes on a CPU (benchmarks/TRAINING.md): one Adam step on a
batch of random crops, timed after two warm-up steps, median of the rest. The codec is
timed for several widths and precisions; with ``--heads``, the denoise and colorize heads
(over a frozen N=96, M=160 backbone, as shipped) in fp32 and bf16. Run it on an otherwise
idle machine:

    python benchmarks/train_speed.py --threads 2 [--heads]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from aecodec.codecs.config import HyperpriorConfig
from aecodec.codecs.hyperprior import MeanScaleHyperprior
from aecodec.train.losses import rate_distortion

CANDIDATES = [  # (n, m, bf16, channels_last)
    (128, 192, True, True),
    (128, 192, False, False),
    (128, 192, True, False),
    (96, 160, True, True),
    (64, 128, True, True),
]


def _median_step(loss_of_step, parameters, bf16: bool, steps: int) -> float:
    """Median wall-clock seconds of ``steps`` Adam steps after two warm-up steps."""
    optimizer = torch.optim.Adam(parameters, 1e-4)
    timings = []
    for _ in range(steps + 2):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = loss_of_step()
        optimizer.zero_grad()
        loss.float().backward()
        optimizer.step()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings[2:])


def seconds_per_step(n: int, m: int, bf16: bool, channels_last: bool, crop: int, batch: int, steps: int) -> float:
    """Median wall-clock seconds of one codec training step."""
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = MeanScaleHyperprior(HyperpriorConfig(n, m)).to(memory_format=memory_format)
    x = torch.rand(batch, 3, crop, crop).contiguous(memory_format=memory_format)
    t = torch.rand(batch) * (model.config.knots - 1)
    return _median_step(lambda: rate_distortion(model(x, t), x, torch.full((batch,), 0.01))[0], model.parameters(), bf16, steps)


def head_seconds_per_step(task: str, bf16: bool, crop: int, batch: int, steps: int) -> float:
    """Median wall-clock seconds of one head training step (backbone frozen, as in training)."""
    from aecodec.heads.config import HeadConfig
    from aecodec.heads.model import BackboneAndHead, RestorationHead
    from aecodec.transforms import AnalysisTransform

    head = RestorationHead(HeadConfig(task=task), 96, 160)
    model = BackboneAndHead(AnalysisTransform(96, 160), head).to(memory_format=torch.channels_last)
    x = torch.rand(batch, 3, crop, crop).contiguous(memory_format=torch.channels_last)
    level = torch.rand(batch, 1, 1, 1) if head.config.noise_input else None
    return _median_step(lambda: model(x, level).float().square().mean(), head.parameters(), bf16, steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--heads", action="store_true", help="Time the restoration heads instead of the codec.")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.heads:
        print("| threads | head | precision | s/step |")
        print("|---|---|---|---|")
        for task in ("denoise", "colorize"):
            for bf16 in (False, True):
                seconds = head_seconds_per_step(task, bf16, args.crop, args.batch, args.steps)
                print(f"| {args.threads} | {task} | {'bf16' if bf16 else 'fp32'} | {seconds:.3f} |")
        return
    print("| threads | N | M | precision | layout | s/step |")
    print("|---|---|---|---|---|---|")
    for n, m, bf16, channels_last in CANDIDATES:
        seconds = seconds_per_step(n, m, bf16, channels_last, args.crop, args.batch, args.steps)
        print(f"| {args.threads} | {n} | {m} | {'bf16' if bf16 else 'fp32'} | {'channels_last' if channels_last else 'NCHW'} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
