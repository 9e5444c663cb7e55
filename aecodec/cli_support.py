"""Error reporting shared by every CLI command.

aecodec's exceptions print as one line ``Error: …`` with exit status 1, and warnings as
``Warning: …``, never as a traceback.
"""

from __future__ import annotations

import functools
import sys
import warnings
from typing import Callable

import click

from aecodec.errors import AecodecError, AecodecWarning


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
