"""Turn a head's training checkpoint into shipped weights and its manifest entry.

``aecodec release head RUN_DIR/checkpoint.pt --id denoise-v1`` (:mod:`aecodec.cli_release`) writes
``weights/<id>-<sha8>.npz`` (the EMA head only: the backbone stays in the codec's file)
with metadata naming the codec and the sha256 of the g_a tensors it was trained on, and
adds the head to the ``heads`` section of ``weights/MANIFEST.json`` as the default for its
task. ``--validation benchmarks/results/restore-val.json`` attaches the benchmark's numbers.
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from aecodec.heads.backbone import backbone_sha256
from aecodec.heads.config import HEAD_ARCHITECTURE, HeadConfig
from aecodec.train.chroma_prior import PRIOR_CROPS, PRIOR_SEED, bias_adjustment, chroma_prior
from aecodec.train.release import TRAINING_DATA, config_dict, load_checkpoint, parent_lineage, write_weights
from aecodec.weights_format import FLOAT_PREFIX, META, meta_array
from aecodec.zoo import weights_dir

BENCHMARK_SECTIONS = {"denoise": ("denoise", "jpeg"), "colorize": ("colorize",)}
"""The parts of a benchmarks/restore.py result that measure each task's head."""


def validation_summary(document: dict, source: Path, task: str) -> dict:
    """The part of a benchmarks/restore.py result that measures a ``task`` head, for the manifest."""
    return {
        "benchmark": f"benchmarks/restore.py on {document['dataset']} ({len(document['images'])} images); full results: {source}",
        **{section: document[section] for section in BENCHMARK_SECTIONS[task]},
    }


def _backbone_record(backbone_file: str, manifest: dict) -> dict:
    """Model id and g_a hash of the codec weights file a head was trained over."""
    name = Path(backbone_file).name
    model_id = next((key for key, entry in manifest["models"].items() if entry["file"] == name), None)
    if model_id is None:
        raise click.ClickException(f"the backbone {name} is not a model in the manifest")
    with np.load(weights_dir() / name) as archive:
        arrays = {key: archive[key] for key in archive.files}
    return {"model": model_id, "file": name, "sha256": backbone_sha256(arrays)}


def release_head(
    checkpoint: Path, head_id: str, description: str, recipe: str, temperature: float, manifest: dict, prior_strength: float = 0.0, prior_mix: float = 0.5
) -> dict:
    """Write the weights file of a head checkpoint and return its manifest entry.

    Args:
        temperature: Annealed-mean temperature of a colorize head.
        prior_strength: Logit adjustment of a colorize head (:mod:`aecodec.train.chroma_prior`),
            folded into its last bias; 0 leaves the trained weights as they are.
        prior_mix: Weight of the uniform distribution mixed into the chroma prior.
    """
    state, train_config = load_checkpoint(checkpoint, "head")
    head_config = HeadConfig(**config_dict(train_config["head"]))
    if train_config.get("backbone_lr_scale", 0.0) > 0:
        raise click.ClickException("this run fine-tuned g_a: its head needs that g_a, which the codec does not ship")
    backbone = _backbone_record(train_config["backbone"], manifest)
    lineage = parent_lineage(train_config.get("init_from"), manifest.get("heads", {}))
    weights = {name: tensor.float().contiguous().numpy() for name, tensor in state["ema"].items()}
    meta = {"architecture": HEAD_ARCHITECTURE, "config": head_config.to_dict(), "backbone": backbone, "temperature": temperature}
    if prior_strength:
        prior = chroma_prior(train_config["train_dir"], head_config.chroma_bins, head_config.chroma_range)
        weights["output.bias"] = weights["output.bias"] + bias_adjustment(prior, prior_strength, prior_mix)
        meta["prior_correction"] = {"strength": prior_strength, "uniform_mix": prior_mix, "crops": PRIOR_CROPS, "seed": PRIOR_SEED}
    arrays = {META: meta_array(meta)}
    arrays.update({f"{FLOAT_PREFIX}{name}": value for name, value in weights.items()})
    target, sha256 = write_weights(arrays, head_id)
    return {
        "file": target.name,
        "sha256": sha256,
        "architecture": HEAD_ARCHITECTURE,
        "task": head_config.task,
        "config": head_config.to_dict(),
        "backbone": backbone,
        "temperature": temperature,
        **({"prior_correction": meta["prior_correction"]} if "prior_correction" in meta else {}),
        "description": description,
        "training": {
            "data": TRAINING_DATA,
            "recipe": recipe,
            "train_config": {k: v for k, v in train_config.items() if k != "head"},
            "steps": state["step"],
            "cpu_hours": round(state["cpu_seconds"] / 3600, 3),
            **lineage,
            "cpu_hours_total": round(state["cpu_seconds"] / 3600 + lineage.get("parent_cpu_hours", 0.0), 3),
            "weights": "exponential moving average of the training weights; the backbone is frozen",
        },
    }
