"""What every CLI command shares: error reporting, the backend option, image outputs.

aecodec's exceptions print as one line ``Error: …`` with exit status 1, and warnings as
``Warning: …``, never as a traceback.
"""

from __future__ import annotations

import functools
import sys
import warnings
from pathlib import Path
from typing import Callable

import click

from aecodec.errors import AecodecError, AecodecWarning, InputError
from aecodec.files import is_stdio



def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    click.echo(f"Warning: {message}", err=True)


def handles_errors(command: Callable) -> Callable:
    """Turn aecodec's exceptions into ``Error: <one line>`` and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("always", AecodecWarning)
            warnings.showwarning = _show_warning
            try:
                return command(*args, **kwargs)
            except AecodecError as exc:
                click.echo(f"Error: {exc}", err=True)
                sys.exit(1)
            except MemoryError:
                click.echo("Error: out of memory", err=True)
                sys.exit(1)

    return wrapper


backend_option = click.option(
    "--backend",
    type=click.Choice(["auto", "onnx", "torch"]),
    default="auto",
    show_default=True,
    help="Inference backend: auto prefers onnxruntime when its graphs are installed. Files decode identically with either.",
)
"""The ``--backend`` option every command that runs a network takes."""


def refuse_existing(output: Path, force: bool) -> None:
    """Refuse to start a command whose output exists, unless ``--force``."""
    if not is_stdio(output) and output.exists() and not force:
        raise InputError(f"{output} already exists (use --force to overwrite)")


def output_format(output: Path, format_name: str | None) -> str:
    """Pillow format for an image output: ``--format``, else PNG on standard output, else the extension's."""
    from PIL import Image

    if format_name:
        return format_name.upper()
    if is_stdio(output):
        return "PNG"
    image_format = Image.registered_extensions().get(output.suffix.lower())
    if image_format is None or image_format not in Image.SAVE:
        raise InputError(f"cannot tell the image format from {output.name!r}; use an extension like .png, .webp, .tiff or .jpg")
    return image_format
