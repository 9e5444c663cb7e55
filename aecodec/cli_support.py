"""What every CLI command shares: error reporting, option types, the backend option, outputs.

aecodec's exceptions print as one line ``Error: …`` with exit status 1, and warnings as
``Warning: …``, never as a traceback.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

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


def extras_missing(command: str, exc: ImportError) -> AecodecError:
    """The error for a command that needs the training extras (torch, onnx) in an install without them."""
    return AecodecError(f"aecodec {command} needs torch and the [train] extras ({exc}): pip install torch, then pip install 'aecodec[train]'")


backend_option = click.option(
    "--backend",
    type=click.Choice(["auto", "onnx", "torch"]),
    default="auto",
    show_default=True,
    help="Inference backend: auto prefers onnxruntime when its graphs are installed. Files decode identically with either.",
)
"""The ``--backend`` option every command that runs a network takes."""


class FiniteFloatRange(click.FloatRange):
    """click's ``FloatRange`` that also refuses nan and infinities, as a usage error (exit 2)."""

    name = "float"

    def convert(self, value, param, ctx) -> float:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def check_output(source: Path, output: Path, force: bool) -> None:
    """Refuse, before any work is done, an output the command must not write.

    Refused: standard output when it is a terminal (binary data would garble it; gzip and
    zstd refuse too), the input file itself (even with ``--force``: a result never replaces
    its source), and an existing file unless ``--force``.
    """
    if is_stdio(output):
        if sys.stdout.isatty():
            raise InputError("not writing binary data to a terminal: redirect standard output (> FILE) or give -o FILE")
        return
    if not output.exists():
        return
    if not is_stdio(source) and source.exists() and os.path.samefile(source, output):
        raise InputError(f"{output} is the input file; give another output name with -o")
    if not force:
        raise InputError(f"{output} already exists (use --force to overwrite)")


def output_format(output: Path, format_name: str | None) -> str:
    """Pillow format for an image output: ``--format``, else PNG on standard output, else the extension's.

    The extension is looked up as ``Image.save`` does it: among the common formats first
    (``Image.preinit``), and only for another extension among every plugin Pillow has
    (``Image.init``, which imports them all).
    """
    from PIL import Image

    if format_name:
        return format_name.upper()
    if is_stdio(output):
        return "PNG"
    Image.preinit()
    image_format = Image.EXTENSION.get(output.suffix.lower()) or Image.registered_extensions().get(output.suffix.lower())
    if image_format is None or image_format not in Image.SAVE:
        raise InputError(f"cannot tell the image format from {output.name!r}; use an extension like .png, .webp, .tiff or .jpg")
    return image_format
