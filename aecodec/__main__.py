"""``python -m aecodec`` runs the command-line interface."""

from aecodec.cli import main

main()
