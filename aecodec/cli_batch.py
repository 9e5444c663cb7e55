"""The folder form of compress, decompress and restore: plan, progress bar, summary, exit status."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path

import click

from aecodec import batch

jobs_option = click.option("--jobs", "-j", type=click.IntRange(1, 64), default=1, show_default=True, help="Files processed in parallel (folder input).")
"""``--jobs`` of every command that takes a folder."""


def run_folder(
    source: Path, output: Path | None, suffixes: frozenset[str], output_suffix: str, work: Callable, force: bool, jobs: int, quiet: bool, **options,
) -> None:
    """Process every matching file below ``source``; exit 1 after the summary if any failed.

    Args:
        work: One of :mod:`aecodec.batch`'s ``*_file`` functions; ``options`` are its
            keyword arguments.
    """
    _check_output_folder(output)
    planned = batch.plan(source, output, suffixes, output_suffix)
    outcomes = []
    with click.progressbar(length=len(planned), label=f"{source}", file=sys.stderr, hidden=quiet or not planned) as bar:
        for outcome in batch.run(functools.partial(work, **options), planned, force, jobs):
            outcomes.append(outcome)
            bar.update(1)
    failed = [o for o in outcomes if o.status == "failed"]
    if not quiet or failed:
        for line in batch.summary(outcomes, compression=output_suffix in batch.CONTAINER_SUFFIXES):
            click.echo(line, err=True)
    if not planned:
        click.echo(f"Warning: no files to process in {source}", err=True)
    if failed:
        sys.exit(1)


def _check_output_folder(output: Path | None) -> None:
    """Refuse an ``-o`` that is, or is named like, a file: a folder input writes a folder.

    A missing ``-o`` ending in an image or .aec extension is a file name given by mistake
    (``-o out.aec``), which would otherwise become a folder of that name.
    """
    if output is None:
        return
    named_like_a_file = output.suffix.lower() in batch.IMAGE_SUFFIXES | batch.CONTAINER_SUFFIXES
    if (output.exists() and not output.is_dir()) or (not output.exists() and named_like_a_file):
        raise click.UsageError(f"-o {output}: for a folder input, the output must be a folder (not a file name)")
