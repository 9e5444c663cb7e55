"""Export the installed models to ONNX: the ``aecodec export`` command as a script.

    python export/export.py [--model ID] [--out DIR] [--force] [--quiet]

Writes ``weights/onnx/<model id>/`` (graphs, a model card per graph, export.json) for every
model of weights/MANIFEST.json whose graphs are missing or stale; see export/README.md.
"""

from aecodec.cli_export import export_command

if __name__ == "__main__":
    export_command()
