"""``aecodec export``: write the ONNX graphs of the installed models.

Re-runnable by design: when new weights are released, running it again re-exports every
model whose graphs are missing or were exported from other weights, and leaves current
ones alone (``--force`` re-exports those too). Each model's folder is replaced all or
nothing, so a failed export never leaves a mix of old and new graphs.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from aecodec.cli_support import extras_missing, handles_errors
from aecodec.errors import InputError


@click.command("export")
@click.option("--model", "model_id", default=None, help="Model or head id to export (default: every model and head in the manifest).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder that receives one sub-folder per model (default: weights/onnx, where the onnx backend looks).",
)
@click.option("--force", is_flag=True, help="Export even models whose graphs are already current.")
@click.option("--quiet", is_flag=True, help="Print nothing on success.")
@handles_errors
def export_command(model_id: str | None, out: Path | None, force: bool, quiet: bool) -> None:
    """Export models to ONNX graphs (with model cards) that onnxruntime runs without torch."""
    from aecodec import zoo
    from aecodec.assembly import onnx_staleness

    try:
        from aecodec.onnx_build.export import export_model
    except ImportError as exc:
        raise extras_missing("export", exc) from exc
    model_ids = [zoo.entry(model_id).model_id] if model_id else [entry.model_id for entry in zoo.models() + zoo.heads()]
    for current in model_ids:
        folder = out / current if out is not None else zoo.onnx_dir(current)
        if not force and onnx_staleness(current, folder) is None:
            if not quiet:
                click.echo(f"{current}: {folder} is up to date (use --force to export again)")
            continue
        started = time.perf_counter()
        try:
            files = export_model(current, folder)
        except OSError as exc:
            raise InputError(f"cannot write {folder}: {exc.strerror or exc}") from exc
        if not quiet:
            graphs = [path for path in files if path.suffix == ".onnx"]
            megabytes = sum(path.stat().st_size for path in graphs) / 1e6
            click.echo(f"{current} → {folder}: {len(graphs)} graphs, {megabytes:.1f} MB in {time.perf_counter() - started:.1f} s")
