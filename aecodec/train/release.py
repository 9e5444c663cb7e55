"""Turn a codec's training checkpoint into shipped weights and their manifest entry.

``aecodec release codec RUN_DIR/checkpoint.pt --id hyperprior-v1`` (:mod:`aecodec.cli_release`)
freezes the EMA weights (integer tables included, see :mod:`aecodec.codecs.freeze`), writes
``weights/<id>-<sha8>.npz``, removes the file it replaces, and updates
``weights/MANIFEST.json`` with the hash, architecture, training recipe, steps and CPU-hours.
``--rd benchmarks/results/rd-val.json`` attaches the validation numbers the benchmark
measured for these weights. What both release commands share (checkpoints, the manifest,
writing a weights file) is here too.
"""

from __future__ import annotations

import io
import json
import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from aecodec.codecs.config import HyperpriorConfig
from aecodec.codecs.freeze import freeze
from aecodec.codecs.hyperprior import MeanScaleHyperprior
from aecodec.codecs.registry import ARCHITECTURE
from aecodec.errors import InputError
from aecodec.zoo import MANIFEST_NAME, sha256_of, weights_dir

TRAINED_PART = {"codec": "model", "head": "head"}
"""The field of a run's config that holds what it trains, for each kind of run."""


def parent_lineage(init_from: str | None, models: dict) -> dict:
    """For a run started from released weights: the parent model and the CPU-hours behind both.

    A refined model's cost is its own run plus everything its starting point cost.
    """
    if not init_from:
        return {}
    parent_id, parent = next(((key, entry) for key, entry in models.items() if entry["file"] == Path(init_from).name), (None, None))
    if parent is None:
        return {"initialised_from": {"file": Path(init_from).name}}
    training = parent["training"]
    return {
        "initialised_from": {"model": parent_id, "file": parent["file"], "sha256": parent["sha256"]},
        "parent_cpu_hours": training.get("cpu_hours_total", training["cpu_hours"]),
    }


TRAINING_DATA = "../shared/data/train (1185 photos; provenance and licences in its README)"


def load_checkpoint(path: Path, kind: str) -> tuple[dict, dict]:
    """The training state saved at ``path`` and its run's config (as a dict), checked to be
    a checkpoint (or an ``ema-<step>.pt`` snapshot) of a ``kind`` run, ``"codec"`` or ``"head"``.

    Raises:
        InputError: The file is no training checkpoint, or one of the other kind of run (the
            message names the command that releases it).
    """
    try:
        state = torch.load(path, weights_only=False, map_location="cpu")
    except (pickle.UnpicklingError, EOFError, RuntimeError, ValueError) as exc:
        raise InputError(f"{path} is not a training checkpoint") from exc
    if not isinstance(state, dict) or not {"config", "ema", "step", "cpu_seconds"} <= state.keys():
        raise InputError(f"{path} is not a training checkpoint")
    config = config_dict(state["config"])
    other = next(name for name in TRAINED_PART if name != kind)
    if TRAINED_PART[other] in config:
        raise InputError(f"{path} is a checkpoint of a {other} run; `aecodec release {other}` releases it")
    if TRAINED_PART[kind] not in config:
        raise InputError(f"{path} is not a training checkpoint of a {kind} run")
    return state, config


def read_manifest() -> dict:
    """The installed MANIFEST.json, parsed (a fresh one when the weights folder has none yet)."""
    path = weights_dir() / MANIFEST_NAME
    return json.loads(path.read_text()) if path.exists() else {"models": {}}


def write_manifest(manifest: dict) -> None:
    """Write MANIFEST.json as the release commands format it."""
    (weights_dir() / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")


def replace_entry(section: dict, model_id: str, entry: dict) -> None:
    """Put ``entry`` under ``model_id`` in a manifest section, removing the weights file it replaces."""
    old = section.get(model_id)
    if old and old["file"] != entry["file"]:
        (weights_dir() / old["file"]).unlink(missing_ok=True)
    section[model_id] = entry


def write_weights(arrays: dict[str, np.ndarray], model_id: str) -> tuple[Path, str]:
    """Write ``weights/<id>-<sha8>.npz`` atomically; return its path and sha256."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    folder = weights_dir()
    tmp = folder / f".{model_id}.npz.tmp"
    tmp.write_bytes(buffer.getvalue())
    sha256 = sha256_of(tmp)
    target = folder / f"{model_id}-{sha256[:8]}.npz"
    tmp.replace(target)
    return target, sha256


def config_dict(config) -> dict:
    """A dataclass config, or the dict a checkpoint stored it as, as a plain dict."""
    return config if isinstance(config, dict) else {k: getattr(config, k) for k in config.__dataclass_fields__}


def release(
    checkpoint: Path, model_id: str, description: str, recipe: str, lowest_rate_parameter: float, models: dict, highest_rate_parameter: float | None = None
) -> dict:
    """Write the weights file for ``checkpoint`` and return its manifest entry.

    Args:
        lowest_rate_parameter: Rate parameter of quality 1.
        models: The manifest's current models, to trace a run's ``init_from`` parent.
        highest_rate_parameter: Rate parameter of quality 100; None is the last knot.
    """
    state, train_config = load_checkpoint(checkpoint, "codec")
    model_config = replace(
        HyperpriorConfig(**config_dict(train_config["model"])), lowest_rate_parameter=lowest_rate_parameter, highest_rate_parameter=highest_rate_parameter
    )
    model = MeanScaleHyperprior(model_config)
    model.load_state_dict(state["ema"])
    target, sha256 = write_weights(freeze(model), model_id)
    train_config["model"] = model_config.to_dict()
    lineage = parent_lineage(train_config.get("init_from"), models)
    cpu_hours = round(state["cpu_seconds"] / 3600, 3)
    return {
        "file": target.name,
        "sha256": sha256,
        "architecture": ARCHITECTURE,
        "config": model_config.to_dict(),
        "description": description,
        "training": {
            "data": TRAINING_DATA,
            "recipe": recipe,
            "train_config": {k: v for k, v in train_config.items() if k != "model"},
            "steps": state["step"],
            "cpu_hours": cpu_hours,
            "hours_by_machine": {kind: round(hours, 3) for kind, hours in state.get("hours", {}).items()},
            **lineage,
            "cpu_hours_total": round(cpu_hours + lineage.get("parent_cpu_hours", 0.0), 3),
            "weights": "exponential moving average of the training weights",
            "learning_curve": _learning_curve(checkpoint.parent / "curve.jsonl"),
        },
    }


def _learning_curve(path: Path) -> list[dict]:
    """The run's validation records (``curve.jsonl`` beside the checkpoint: step, CPU-hours of
    this run, estimated bpp and PSNR of the EMA weights per rate parameter); empty without one.

    ``benchmarks/learning_curve.py`` plots them, chained with the parents' runs.
    """
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def validation_summary(document: dict, source: Path) -> dict:
    """The part of a benchmarks/rd.py result that describes aecodec, for the manifest."""
    curve = next(entry for entry in document["codecs"] if entry["name"] == "aecodec")
    return {
        "benchmark": f"benchmarks/rd.py on {document['dataset']} ({len(document['images'])} images); full results: {source}",
        "qualities": curve["qualities"],
        "results": curve["results"],
        "bd_rate_percent": {
            metric: {anchor: row["aecodec"] for anchor, row in per_anchor.items() if "aecodec" in row}
            for metric, per_anchor in document["bd_rate"].items()
        },
        "psnr_at_bpp": document["psnr_at_bpp"]["aecodec"],
    }
