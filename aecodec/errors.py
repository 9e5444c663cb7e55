"""The exceptions aecodec raises; the CLI turns every one into a one-line ``Error: …``.

Callers can catch :class:`AecodecError` for anything aecodec refuses, or a subclass for a
specific failure (a corrupt container is not the same problem as a wrong weights file).
"""


class AecodecError(Exception):
    """Base class of every error aecodec raises on purpose."""


class InputError(AecodecError):
    """An input (image, option, config) that aecodec cannot use."""


class FormatError(AecodecError):
    """Bytes that are not a well-formed .aec container."""


class ChecksumError(FormatError):
    """A chunk whose CRC-32 does not match its contents (corruption in storage or transfer)."""


class UnsupportedVersionError(FormatError):
    """A container written by a newer, incompatible major version of the format."""


class WeightsMismatchError(AecodecError):
    """A file coded with weights that are not installed, or a weights file with a wrong hash."""


class DesyncError(AecodecError):
    """Decoded symbols do not match the CRC the encoder stored: the entropy decoder desynced."""


class AecodecWarning(UserWarning):
    """Something aecodec did on the user's behalf that changes data (e.g. a mode conversion)."""
