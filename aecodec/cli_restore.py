"""``aecodec restore`` and ``aecodec colorize``: the restoration heads on the command line."""

from __future__ import annotations

from pathlib import Path

import click

from aecodec import batch
from aecodec.cli_batch import jobs_option, run_folder
from aecodec.cli_support import FiniteFloatRange, backend_option, check_output, handles_errors, output_format
from aecodec.files import derived_output, image_writer, is_stdio, write_output

RESTORED_SUFFIX = ".restored.png"
COLORIZED_SUFFIX = ".colorized.png"


def _common_options(default_names: str):
    """The options restore and colorize share; ``default_names`` says how outputs are named."""
    return [
        click.argument("source", type=click.Path(path_type=Path)),
        click.option(
            "-o", "--output", type=click.Path(path_type=Path),
            help=(
                f"Output image; the format follows the extension (default: {default_names}; - for standard output); "
                "for a folder SOURCE, an output folder (default: SOURCE)."
            ),
        ),
        backend_option,
        jobs_option,
        click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists."),
        click.option("--quiet", is_flag=True, help="Print nothing on success."),
    ]


def _with_common_options(default_names: str):
    def decorate(command):
        for option in reversed(_common_options(default_names)):
            command = option(command)
        return command

    return decorate


def _run(source: Path, output: Path | None, task: str, sigma: float | None, backend: str, jobs: int, force: bool, quiet: bool) -> None:
    from aecodec.restoration import restore

    suffix = COLORIZED_SUFFIX if task == "colorize" else RESTORED_SUFFIX
    if source.is_dir():
        run_folder(source, output, batch.IMAGE_SUFFIXES, suffix, batch.restore_file, force, jobs, quiet, task=task, sigma=sigma, backend=backend)
        return
    output = output or derived_output(source, suffix)
    check_output(source, output, force)
    image_format = output_format(output, None)
    image, report = restore(source, task=task, sigma=sigma, backend=backend)
    write_output(output, image_writer(image, image_format), force)
    if not quiet:
        detail = f", σ {report['sigma']:.1f}" if "sigma" in report else ""
        click.echo(f"{source} → {output}: {report['task']}{detail} ({report['head']}, {report['backend']})", err=is_stdio(output))
        if "note" in report:
            click.echo(f"Note: {report['note']}", err=True)


@click.command("restore")
@_with_common_options(f"SOURCE with {RESTORED_SUFFIX}, or {COLORIZED_SUFFIX} with --task colorize")
@click.option(
    "--task", type=click.Choice(["auto", "denoise", "colorize"]), default="auto", show_default=True,
    help="auto colorizes gray images and denoises color ones.",
)
@click.option("--sigma", type=FiniteFloatRange(), default=None, help="Noise standard deviation on the 0–255 scale (default: estimated from the image).")
@handles_errors
def restore_command(source: Path, output: Path | None, backend: str, jobs: int, force: bool, quiet: bool, task: str, sigma: float | None) -> None:
    """Remove noise and JPEG artefacts from a photo (or colorize a gray one); a folder SOURCE does every image below it."""
    _run(source, output, task, sigma, backend, jobs, force, quiet)


@click.command("colorize")
@_with_common_options(f"SOURCE with {COLORIZED_SUFFIX}")
@handles_errors
def colorize_command(source: Path, output: Path | None, backend: str, jobs: int, force: bool, quiet: bool) -> None:
    """Color a gray photo, keeping its luminance exactly (a color photo is made gray first); a folder SOURCE does every image below it."""
    _run(source, output, "colorize", None, backend, jobs, force, quiet)
