"""Seconds per training step of a codec recipe (or the restoration heads) on the CPU at hand.

Decides how a recipe trains on this machine (benchmarks/TRAINING.md, "Step time per CPU"):
one Adam step of the recipe's own model (its ``init_from`` weights loaded, so trained GDN
weights with their subnormal entries are in play) on a batch of random crops of the
recipe's size, timed after two warm-up steps, median of the rest, for

* float32 and bf16 autocast, on one and on two threads of one process;
* flush-to-zero of subnormal numbers off, at the faster precision on two threads;
* two processes of one thread each, data-parallel over gloo (``torch.distributed``), each
  on half the batch: the alternative to one process with two threads.

With ``--heads``, the denoise and colorize heads (over a frozen N=96, M=160 backbone) in
fp32 and bf16 instead. Run it on an otherwise idle machine (pause a training run with
``kill -STOP``); ``--json`` writes the table with the machine's name:

    python benchmarks/train_speed.py --config weights/hyperprior-v8.toml --json benchmarks/results/train-speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.multiprocessing as mp

from aecodec.codecs.freeze import float_state_dict
from aecodec.codecs.hyperprior import MeanScaleHyperprior
from aecodec.codecs.objective import rate_distortion
from aecodec.train.config import TrainConfig
from aecodec.train.loop import initialize_from
from aecodec.train.machine import machine_kind
from aecodec.train.parallel import Team, join


def _median_step(loss_of_step, parameters, bf16: bool, steps: int, after_backward=lambda: None) -> float:
    """Median wall-clock seconds of ``steps`` Adam steps after two warm-up steps."""
    optimizer = torch.optim.Adam(parameters, 1e-5)
    timings = []
    for _ in range(steps + 2):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = loss_of_step()
        optimizer.zero_grad()
        loss.float().backward()
        after_backward()
        optimizer.step()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings[2:])


def recipe_model(config: TrainConfig) -> MeanScaleHyperprior:
    """The recipe's network in channels_last, with its ``init_from`` weights if it has them."""
    model = MeanScaleHyperprior(config.model)
    if config.init_from:
        with np.load(config.init_from) as arrays:
            initialize_from(model, float_state_dict(arrays))
    return model.to(memory_format=torch.channels_last)


def _codec_step(model: MeanScaleHyperprior, batch: int, crop: int):
    x = torch.rand(batch, 3, crop, crop).contiguous(memory_format=torch.channels_last)
    t = torch.rand(batch) * (model.config.knots - 1)
    return lambda: rate_distortion(model(x, t), x, torch.full((batch,), 0.01))[0]


def seconds_per_step(config: TrainConfig, bf16: bool, threads: int, flush_denormal: bool, steps: int) -> float:
    """Median seconds of one step of the recipe in one process."""
    torch.set_num_threads(threads)
    torch.set_flush_denormal(flush_denormal)
    model = recipe_model(config)
    return _median_step(_codec_step(model, config.batch, config.crop), model.parameters(), bf16, steps)


def _data_parallel_step(team: Team, config: TrainConfig, bf16: bool, steps: int) -> float:
    torch.manual_seed(0)
    model = recipe_model(config)
    parallel = team.wrap(model)
    x = torch.rand(team.share(config.batch), 3, config.crop, config.crop).contiguous(memory_format=torch.channels_last)
    t = torch.rand(len(x)) * (config.model.knots - 1)
    return _median_step(lambda: rate_distortion(parallel(x, t), x, torch.full((len(t),), 0.01))[0], model.parameters(), bf16, steps)


def _data_parallel_worker(rank: int, world: int, port: int, config: TrainConfig, bf16: bool, steps: int, results) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    team = join()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    seconds = _data_parallel_step(team, config, bf16, steps)
    if team.leads:
        results.put(seconds)
    team.leave()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def data_parallel_seconds_per_step(config: TrainConfig, bf16: bool, steps: int, world: int = 2) -> float:
    """Median seconds of one step of the recipe's batch split over ``world`` one-thread processes."""
    results = mp.get_context("spawn").SimpleQueue()
    mp.spawn(_data_parallel_worker, args=(world, _free_port(), config, bf16, steps, results), nprocs=world)
    return results.get()


def head_seconds_per_step(task: str, bf16: bool, crop: int, batch: int, steps: int) -> float:
    """Median wall-clock seconds of one head training step (backbone frozen, as in training)."""
    from aecodec.heads.config import HeadConfig
    from aecodec.heads.model import BackboneAndHead, RestorationHead
    from aecodec.transforms.analysis import AnalysisTransform

    head = RestorationHead(HeadConfig(task=task), 96, 160)
    model = BackboneAndHead(AnalysisTransform(96, 160), head).to(memory_format=torch.channels_last)
    x = torch.rand(batch, 3, crop, crop).contiguous(memory_format=torch.channels_last)
    level = torch.rand(batch, 1, 1, 1) if head.config.noise_input else None
    return _median_step(lambda: model(x, level).float().square().mean(), head.parameters(), bf16, steps)


def codec_rows(config: TrainConfig, steps: int) -> list[dict]:
    """Every setting the module docstring lists, timed in turn."""
    rows = []
    for threads in (1, 2):
        for bf16 in (False, True):
            rows.append({"processes": 1, "threads": threads, "precision": "bf16" if bf16 else "fp32", "flush_denormal": True,
                         "seconds": seconds_per_step(config, bf16, threads, True, steps)})
    faster = min((row for row in rows if row["threads"] == 2), key=lambda row: row["seconds"])["precision"] == "bf16"
    rows.append({"processes": 1, "threads": 2, "precision": "bf16" if faster else "fp32", "flush_denormal": False,
                 "seconds": seconds_per_step(config, faster, 2, False, steps)})
    rows.append({"processes": 2, "threads": 1, "precision": "bf16" if faster else "fp32", "flush_denormal": True,
                 "seconds": data_parallel_seconds_per_step(config, faster, steps)})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("weights/hyperprior-v8.toml"), help="Codec recipe to time.")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="Also write the rows, with the machine's name, here.")
    parser.add_argument("--heads", action="store_true", help="Time the restoration heads (128² crops, batch 8, 2 threads) instead.")
    args = parser.parse_args(argv)
    kind = machine_kind(torch.device("cpu"))
    if args.heads:
        torch.set_num_threads(2)
        print(f"{kind}\n\n| head | precision | s/step |\n|---|---|---|")
        for task in ("denoise", "colorize"):
            for bf16 in (False, True):
                print(f"| {task} | {'bf16' if bf16 else 'fp32'} | {head_seconds_per_step(task, bf16, 128, 8, args.steps):.3f} |")
        return
    config = TrainConfig.load(args.config)
    rows = codec_rows(config, args.steps)
    print(f"{kind}: {args.config}, batch {config.batch} of {config.crop}²\n")
    print("| processes × threads | precision | flush-to-zero | s/step |\n|---|---|---|---:|")
    for row in rows:
        print(f"| {row['processes']} × {row['threads']} | {row['precision']} | {'on' if row['flush_denormal'] else 'off'} | {row['seconds']:.3f} |")
    if args.json:
        args.json.write_text(
            json.dumps({"machine": kind, "config": str(args.config), "batch": config.batch, "crop": config.crop, "rows": rows}, indent=1) + "\n"
        )


if __name__ == "__main__":
    main()
