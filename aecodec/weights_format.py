"""The layout of a weights file (``.npz``): where its metadata and its float tensors are.

A weights file is a flat numpy archive. One array, ``meta.json``, holds a JSON document as
UTF-8 bytes (uint8): the ``architecture`` the file is for, its ``config``, and for a
restoration head the backbone it was trained on. The float tensors of the network's state
dict are stored under ``float.<name>``; everything else (integer networks, probability
tables) is named by the module that writes it. The release tools write the metadata and the
loaders read it through this module only, so both sides agree on the encoding.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

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
