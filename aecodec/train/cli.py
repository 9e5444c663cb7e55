"""Command-line entry of training, shared by ``aecodec train`` and ``python -m aecodec.train``."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from aecodec.cli_support import handles_errors


@click.command("train")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False), help="TOML training config.")
@click.option("--run-dir", required=True, type=click.Path(file_okay=False), help="Folder for checkpoint, log and learning curve; an existing run there is resumed.")
@click.option("--steps", type=int, default=None, help="Override the config's schedule length.")
@handles_errors
def main(config_path: str, run_dir: str, steps: int | None) -> None:
    """Train the codec or a restoration head (resumable: run the same command again to continue).

    A config with a ``[head]`` table trains a head over the frozen backbone it names.
    """
    from dataclasses import replace

    from aecodec.train.config import HeadTrainConfig, TrainConfig, is_head_config
    from aecodec.train.head_loop import train_head
    from aecodec.train.loop import train

    head = is_head_config(config_path)
    config = (HeadTrainConfig if head else TrainConfig).load(config_path)
    if steps is not None:
        config = replace(config, steps=steps)
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(message)s",
        handlers=[logging.FileHandler(Path(run_dir) / "train.log"), logging.StreamHandler()],
    )
    (train_head if head else train)(config, run_dir, log=logging.getLogger("aecodec.train").info)
