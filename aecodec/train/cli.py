"""Command-line entry of training, shared by ``aecodec train`` and ``python -m aecodec.train``."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from aecodec.cli_support import extras_missing, handles_errors
from aecodec.errors import InputError


@click.command("train")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False), help="TOML training config.")
@click.option(
    "--run-dir", required=True, type=click.Path(file_okay=False),
    help="Folder for checkpoint, log and learning curve; an existing run there is resumed.",
)
@click.option("--steps", type=int, default=None, help="Override the config's schedule length.")
@click.option("--device", default="cpu", show_default=True, help="Where a codec trains: cpu, or cuda for a CUDA GPU (heads train on the CPU).")
@handles_errors
def main(config_path: str, run_dir: str, steps: int | None, device: str) -> None:
    """Train the codec or a restoration head (resumable: run the same command again to continue).

    A config with a [head] table trains a head over the frozen backbone it names.
    """
    from dataclasses import replace

    from aecodec.train.config import HeadTrainConfig, TrainConfig, is_head_config

    head = is_head_config(config_path)
    train = _training_loop(head)
    config = (HeadTrainConfig if head else TrainConfig).load(config_path)
    if steps is not None:
        config = replace(config, steps=steps)
    _check_photos(config, config_path)
    from aecodec.train.machine import flush_subnormals

    flush_subnormals()
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(message)s",
        handlers=[logging.FileHandler(Path(run_dir) / "train.log"), logging.StreamHandler()],
    )
    log = logging.getLogger("aecodec.train").info
    if head:
        train(config, run_dir, log=log)
    else:
        train(config, run_dir, log=log, device=device)


def _training_loop(head: bool):
    """The training function of a head or codec config.

    Raises:
        AecodecError: torch (or another training dependency) is not installed; the message
            says what to install.
    """
    try:
        if head:
            from aecodec.train.head_loop import train_head as train
        else:
            from aecodec.train.loop import train
    except ImportError as exc:
        raise extras_missing("train", exc) from exc
    return train


def _check_photos(config, config_path: str) -> None:
    """Refuse a run whose training or validation folder holds no photos, before it writes anything.

    Raises:
        InputError: Names the folder and the config key; a relative folder also by the
            current folder it is relative to.
    """
    from aecodec.train.data import list_photos

    for key in ("train_dir", "val_dir"):
        folder = Path(getattr(config, key))
        if not list_photos(folder):
            relative_to = "" if folder.is_absolute() else f", relative to {Path.cwd()}"
            raise InputError(f"no photos in {folder} ({key} of {config_path}{relative_to}): put photos there or change {key}")
