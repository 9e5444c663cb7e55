"""``aecodec release codec|head``: a training checkpoint → shipped weights, recorded in the manifest.

The work is done by :mod:`aecodec.train.release` and :mod:`aecodec.train.release_head`,
imported when a command runs (they need torch). Nothing is written before the checkpoint is
read and checked: a file that is no checkpoint, or a checkpoint of the other kind of run, is
refused with one ``Error:`` line and leaves the weights folder as it was.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from aecodec.cli_support import extras_missing, handles_errors
from aecodec.errors import InputError

_CHECKPOINT = click.Path(exists=True, dir_okay=False, path_type=Path)
_RESULT = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group("release")
def release_command() -> None:
    """Write a training checkpoint's weights into weights/ and record them in MANIFEST.json."""


@release_command.command("codec")
@click.argument("checkpoint", type=_CHECKPOINT)
@click.option("--id", "model_id", required=True, help="Model id, e.g. hyperprior-v1.")
@click.option("--description", default="", help="One line shown by `aecodec models`.")
@click.option("--recipe", default="", help="Config file the checkpoint was trained with.")
@click.option("--rd", "rd_json", type=_RESULT, help="Attach this benchmarks/rd.py JSON as validation numbers (no new weights written).")
@click.option("--default/--no-default", default=True, help="Make this the default model.")
@click.option(
    "--lowest-rate-parameter",
    type=float,
    default=0.0,
    show_default=True,
    help="Rate parameter t of quality 1 (< 0 extrapolates the gains below the trained range).",
)
@click.option(
    "--highest-rate-parameter",
    type=float,
    help="Rate parameter t of quality 100 (default the last knot, K − 1; up to K extrapolates the gains above it).",
)
@handles_errors
def codec_command(
    checkpoint: Path,
    model_id: str,
    description: str,
    recipe: str,
    rd_json: Path | None,
    default: bool,
    lowest_rate_parameter: float,
    highest_rate_parameter: float | None,
) -> None:
    """Freeze a codec CHECKPOINT's EMA weights (integer tables included) and make it a model."""
    try:
        from aecodec.train import release
    except ImportError as exc:
        raise extras_missing("release", exc) from exc

    manifest = release.read_manifest()
    if rd_json is not None:
        if model_id not in manifest["models"]:
            raise InputError(f"{model_id} is not a model in the manifest; release its weights first")
        manifest["models"][model_id]["validation"] = release.validation_summary(json.loads(rd_json.read_text()), rd_json)
    else:
        entry = release.release(checkpoint, model_id, description, recipe, lowest_rate_parameter, manifest["models"], highest_rate_parameter)
        release.replace_entry(manifest["models"], model_id, entry)
        training = entry["training"]
        click.echo(f"wrote {entry['file']} ({training['steps']} steps, {training['cpu_hours']} CPU-h, {training['cpu_hours_total']} in total)")
    if default:
        manifest["default"] = model_id
    release.write_manifest(manifest)


@release_command.command("head")
@click.argument("checkpoint", type=_CHECKPOINT)
@click.option("--id", "head_id", required=True, help="Head id, e.g. denoise-v1.")
@click.option("--description", default="", help="One line shown by `aecodec models`, which adds the codec the head runs on (so do not name one here).")
@click.option("--recipe", default="", help="Config file the checkpoint was trained with.")
@click.option("--temperature", type=float, default=1.0, show_default=True, help="Annealed-mean temperature (colorize head).")
@click.option("--prior-strength", type=float, default=0.0, show_default=True, help="Colorize head: logit adjustment by the training chroma prior (0: none).")
@click.option("--prior-mix", type=float, default=0.5, show_default=True, help="Uniform share mixed into the chroma prior.")
@click.option("--validation", "validation_json", type=_RESULT, help="Attach the benchmarks/restore.py JSON to this head (no new weights written).")
@handles_errors
def head_command(
    checkpoint: Path, head_id: str, description: str, recipe: str, temperature: float, prior_strength: float, prior_mix: float, validation_json: Path | None
) -> None:
    """Write a head CHECKPOINT's EMA head into weights/ and make it the default for its task."""
    try:
        from aecodec.train import release, release_head
    except ImportError as exc:
        raise extras_missing("release", exc) from exc

    manifest = release.read_manifest()
    heads = manifest.setdefault("heads", {})
    if validation_json is not None:
        if head_id not in heads:
            raise InputError(f"{head_id} is not a head in the manifest; release its weights first")
        heads[head_id]["validation"] = release_head.validation_summary(json.loads(validation_json.read_text()), validation_json, heads[head_id]["task"])
    else:
        entry = release_head.release_head(checkpoint, head_id, description, recipe, temperature, manifest, prior_strength, prior_mix)
        release.replace_entry(heads, head_id, entry)
        manifest.setdefault("default_heads", {})[entry["task"]] = head_id
        click.echo(f"wrote {entry['file']} ({entry['training']['steps']} steps, {entry['training']['cpu_hours']} CPU-h)")
    release.write_manifest(manifest)
