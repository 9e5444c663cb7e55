"""The layout of a weights file (``.npz``): where its metadata and its float tensors are.

A weights file is a flat numpy archive. One array, ``meta.json``, holds a JSON document as
UTF-8 bytes (uint8): the ``architecture`` the file is for, its ``config``, and for a
restoration head the backbone it was trained on. The float tensors of the network's state
dict are stored under ``float.<name>``; everything else (integer networks, probability
tables) is named by the module that writes it. The release tools write the metadata and the
loaders read it through this module only, so both sides agree on the encoding.
:class:`ArchiveArrays` reads a file's arrays one at a time, as a loader asks for them.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator, Mapping

import numpy as np

META = "meta.json"
"""Name of the array holding the file's JSON metadata."""
FLOAT_PREFIX = "float."
"""Prefix of the arrays that are float tensors of the network's state dict."""


def meta_array(meta: dict) -> np.ndarray:
    """The ``meta.json`` array of a weights file: ``meta`` as JSON, UTF-8, one uint8 per byte."""
    return np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)


def read_meta(arrays: Mapping[str, np.ndarray]) -> dict:
    """The JSON metadata (architecture and config) stored in a weights file's arrays."""
    return json.loads(bytes(np.asarray(arrays[META], dtype=np.uint8)).decode())


class ArchiveArrays(Mapping[str, np.ndarray]):
    """The arrays of a weights file, each inflated from the archive when it is first read.

    A runtime reads only some of a file's arrays: the onnx backend needs the gains, the
    probability tables and the integer networks' bounds, never the float tensors and integer
    weights its graphs already hold. The arrays are stored compressed, and inflating all of
    them costs more than reading and hashing the file, so each one is inflated only when it
    is asked for, and only once. Once every array has been read the archive bytes are let go.
    Reading is thread-safe.

    Args:
        data: The bytes of the ``.npz`` file, verified by whoever read them (the zoo checks
            their sha256): the file is read once, so what was verified is what is inflated.
    """

    def __init__(self, data: bytes) -> None:
        self._archive = np.load(io.BytesIO(data), allow_pickle=False)
        self._names = tuple(self._archive.files)
        self._known = frozenset(self._names)
        self._arrays: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> np.ndarray:
        found = self._arrays.get(name)
        if found is not None:
            return found
        if name not in self._known:
            raise KeyError(name)
        with self._lock:
            if name not in self._arrays:
                self._arrays[name] = self._archive[name]
                if len(self._arrays) == len(self._names):
                    self._archive.close()  # everything is inflated: the bytes are no longer needed
                    self._archive = None
            return self._arrays[name]

    def __contains__(self, name: object) -> bool:
        return name in self._known

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    @property
    def inflated(self) -> frozenset[str]:
        """Names of the arrays read so far (what a load actually needed)."""
        return frozenset(self._arrays)
