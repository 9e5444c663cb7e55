"""Turn a training checkpoint into shipped weights and record them in the manifest.

``python -m aecodec.train.release RUN_DIR/checkpoint.pt --id hyperprior-v1`` freezes the
EMA weights (integer tables included, see :mod:`aecodec.codecs.freeze`), writes
``weights/<id>-<sha8>.npz``, removes the file it replaces, and updates
``weights/MANIFEST.json`` with the hash, architecture, training recipe, steps and CPU-hours.
``--rd benchmarks/results/rd-val.json`` attaches the validation numbers the benchmark
measured for these weights.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import click
import numpy as np
import torch

from aecodec.codecs.config import HyperpriorConfig
from aecodec.codecs.freeze import freeze
from aecodec.codecs.hyperprior import MeanScaleHyperprior
from aecodec.codecs.registry import ARCHITECTURE
from aecodec.zoo import MANIFEST_NAME, sha256_of, weights_dir


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
    state = torch.load(checkpoint, weights_only=False, map_location="cpu")
    train_config = config_dict(state["config"])
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


@click.command()
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--id", "model_id", required=True, help="Model id, e.g. hyperprior-v1.")
@click.option("--description", default="", help="One line shown by `aecodec models`.")
@click.option("--recipe", default="", help="Config file the checkpoint was trained with.")
@click.option("--rd", "rd_json", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Attach this benchmarks/rd.py JSON as validation numbers (no new weights written).")
@click.option("--default/--no-default", default=True, help="Make this the default model.")
@click.option("--lowest-rate-parameter", type=float, default=0.0, show_default=True, help="Rate parameter t of quality 1 (< 0 extrapolates the gains below the trained range).")
@click.option("--highest-rate-parameter", type=float, help="Rate parameter t of quality 100 (default the last knot, K − 1; up to K extrapolates the gains above it).")
def main(
    checkpoint: Path, model_id: str, description: str, recipe: str, rd_json: Path | None, default: bool, lowest_rate_parameter: float, highest_rate_parameter: float | None
) -> None:
    """Freeze CHECKPOINT into weights/ and update MANIFEST.json."""
    manifest_path = weights_dir() / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"models": {}}
    if rd_json is not None:
        manifest["models"][model_id]["validation"] = validation_summary(json.loads(rd_json.read_text()), rd_json)
    else:
        old = manifest["models"].get(model_id)
        entry = release(checkpoint, model_id, description, recipe, lowest_rate_parameter, manifest["models"], highest_rate_parameter)
        if old and old["file"] != entry["file"]:
            (weights_dir() / old["file"]).unlink(missing_ok=True)
        manifest["models"][model_id] = entry
        training = entry["training"]
        click.echo(f"wrote {entry['file']} ({training['steps']} steps, {training['cpu_hours']} CPU-h, {training['cpu_hours_total']} in total)")
    if default:
        manifest["default"] = model_id
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
